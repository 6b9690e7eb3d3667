//! The text of `classroom up`, `down` and `status`.

use eclat_service::classroom::{ClassroomDown, ClassroomStatus, ClassroomUp, LearnerView};

/// The learners as a table: user, password, lab, sessions.
fn learners(ls: &[LearnerView]) -> String {
    let mut t = format!(
        "  {:<14} {:<12} {:<9} {:<11} {}",
        "user", "password", "topology", "logged in", "lab (namespaces, bpffs root)"
    );
    for l in ls {
        t.push_str(&format!(
            "\n  {:<14} {:<12} {:<9} {:<11} {}* {}",
            l.user,
            l.password,
            if l.topology_up { "up" } else { "down" },
            match (l.uid, l.processes) {
                (None, _) => "no user".to_string(),
                (_, 0) => "no".to_string(),
                (_, n) => format!("{n} proc."),
            },
            l.ns_prefix,
            l.bpffs.display()
        ));
    }
    t
}

pub fn up(u: &ClassroomUp) -> String {
    let mut t = if u.created.is_empty() {
        format!(
            "classroom `{}`: nothing to create, its {} learners are there",
            u.prefix,
            u.learners.len()
        )
    } else {
        format!(
            "classroom `{}`: created {} learner(s) ({}), {} in all",
            u.prefix,
            u.created.len(),
            u.created.join(", "),
            u.learners.len()
        )
    };
    if u.labs_up > 0 {
        t.push_str(&format!(
            "\nbrought {} lab(s) up, all at once, in {:.1} s",
            u.labs_up,
            u.labs_ms as f64 / 1000.0
        ));
    }
    t.push_str(&format!("\n{}", learners(&u.learners)));
    t.push_str(&format!(
        "\nEach learner logs in (ssh, or a console) with the password above and gets the \
         tutorial of their own lab; `sudo eclat-lab` reaches that lab only.\nroster: {} \
         (root's); sudoers: {}\nremove it all with: sudo eclat-lab classroom down --prefix {}",
        u.roster.display(),
        u.sudoers.display(),
        u.prefix
    ));
    t
}

pub fn down(d: &ClassroomDown) -> String {
    let mut t = format!(
        "classroom `{}` removed in {:.1} s: {} lab(s) reset, {} user(s) deleted with their homes",
        d.prefix,
        d.total_ms as f64 / 1000.0,
        d.labs_reset,
        d.deleted.len()
    );
    if !d.deleted.is_empty() {
        t.push_str(&format!(" ({})", d.deleted.join(", ")));
    }
    for f in &d.files {
        t.push_str(&format!("\n  removed {}", f.display()));
    }
    t
}

pub fn status(s: &ClassroomStatus) -> String {
    if s.classrooms.is_empty() {
        return "no classroom on this machine (`sudo eclat-lab classroom up N` makes one)"
            .to_string();
    }
    s.classrooms
        .iter()
        .map(|c| {
            format!(
                "classroom `{}`: {} learner(s), running {} as root through sudo\n{}",
                c.prefix,
                c.learners.len(),
                c.binary.display(),
                learners(&c.learners)
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}
