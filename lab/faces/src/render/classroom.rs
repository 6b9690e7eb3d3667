//! The text of `classroom up`, `down` and `status`.

use eclat_service::classroom::{ClassroomDown, ClassroomStatus, ClassroomUp, LearnerView};
use eclat_service::vm_classroom::{VmClassroomDown, VmClassroomUp, VmLearnerView};

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
    if d.processes_ended > 0 {
        t.push_str(&format!(
            "\n  ended {} process(es) of the learners' sessions",
            d.processes_ended
        ));
        if d.processes_killed > 0 {
            t.push_str(&format!(
                ", {} of them killed after 3 s (they ignored SIGTERM and SIGHUP)",
                d.processes_killed
            ));
        }
    }
    for f in &d.files {
        t.push_str(&format!("\n  removed {}", f.display()));
    }
    t
}

pub fn status(s: &ClassroomStatus) -> String {
    let mut parts: Vec<String> = s
        .classrooms
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
        .collect();
    parts.extend(s.vm_classrooms.iter().map(|c| {
        format!(
            "classroom of VMs `{}`: {} VM(s), folder {}\n{}",
            c.prefix,
            c.learners.len(),
            c.dir.display(),
            vm_learners(&c.learners)
        )
    }));
    if parts.is_empty() {
        return "no classroom on this machine (`sudo eclat-lab classroom up N` makes one; \
                `eclat-lab classroom up N --vms` a VM per learner)"
            .to_string();
    }
    parts.join("\n\n")
}

/// The VMs as a table: machine and user, SSH port, password, state.
fn vm_learners(ls: &[VmLearnerView]) -> String {
    let mut t = format!(
        "  {:<14} {:<9} {:<12} {}",
        "VM and user", "ssh port", "password", "state (vagrant status)"
    );
    for l in ls {
        t.push_str(&format!(
            "\n  {:<14} {:<9} {:<12} {}",
            l.name, l.port, l.password, l.state
        ));
    }
    t
}

pub fn vms_up(u: &VmClassroomUp) -> String {
    let mut t = if u.added.is_empty() {
        format!(
            "classroom of VMs `{}`: its {} VM(s) were planned already; `vagrant up` made or \
             started the missing ones in {:.1} s",
            u.prefix,
            u.learners.len(),
            u.vagrant_up_ms as f64 / 1000.0
        )
    } else {
        format!(
            "classroom of VMs `{}`: added {} VM(s) ({}), {} in all; `vagrant up`{} took {:.1} s, \
             the whole command {:.1} s",
            u.prefix,
            u.added.len(),
            u.added.join(", "),
            u.learners.len(),
            if u.one_at_a_time {
                " (one VM at a time)"
            } else {
                ""
            },
            u.vagrant_up_ms as f64 / 1000.0,
            u.total_ms as f64 / 1000.0
        )
    };
    for n in &u.notes {
        t.push_str(&format!("\nnote: {n}"));
    }
    t.push_str(&format!("\n{}", vm_learners(&u.learners)));
    let first = u.learners.first();
    t.push_str(&format!(
        "\nEach learner logs in to their own VM with `ssh -p PORT USER@THIS_HOST` (e.g. `ssh -p {} \
         {}@...`) and the password above, and gets the tutorial; `sudo eclat-lab` is their lab.\n\
         roster and Vagrant's state: {} (yours, 0600)\n\
         remove it all with: eclat-lab classroom down --vms --prefix {}",
        first.map(|l| l.port).unwrap_or(0),
        first.map(|l| l.name.as_str()).unwrap_or("?"),
        u.dir.display(),
        u.prefix
    ));
    t
}

pub fn vms_down(d: &VmClassroomDown) -> String {
    format!(
        "classroom of VMs `{}` removed in {:.1} s: {} VM(s) destroyed ({}); {}",
        d.prefix,
        d.total_ms as f64 / 1000.0,
        d.destroyed.len(),
        d.destroyed.join(", "),
        if d.dir_removed {
            format!("removed {}", d.dir.display())
        } else {
            format!(
                "{} kept: it holds files the classroom did not make",
                d.dir.display()
            )
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn vm(name: &str, port: u16, state: &str) -> VmLearnerView {
        VmLearnerView {
            name: name.into(),
            port,
            password: format!("pw-{name}"),
            state: state.into(),
        }
    }

    #[test]
    fn vms_up_gives_each_learner_their_port_and_password() {
        let u = VmClassroomUp {
            prefix: "learner".into(),
            dir: PathBuf::from("/r/vagrant/classroom/learner"),
            vagrantfile: PathBuf::from("/r/vagrant/classroom/Vagrantfile"),
            added: vec!["learner01".into(), "learner02".into()],
            learners: vec![
                vm("learner01", 2301, "running"),
                vm("learner02", 2302, "running"),
            ],
            one_at_a_time: true,
            notes: vec!["no lab box".into()],
            vagrant_up_ms: 151_200,
            total_ms: 155_900,
        };
        let t = vms_up(&u);
        assert!(t.starts_with(
            "classroom of VMs `learner`: added 2 VM(s) (learner01, learner02), 2 in all; \
             `vagrant up` (one VM at a time) took 151.2 s, the whole command 155.9 s\nnote: no lab box\n"
        ), "{t}");
        assert!(
            t.contains("\n  learner02      2302      pw-learner02 running\n"),
            "{t}"
        );
        assert!(t.contains("ssh -p 2301 learner01@"), "{t}");
        assert!(t.ends_with("classroom down --vms --prefix learner"), "{t}");
    }

    #[test]
    fn status_lists_the_vms_after_the_server_classrooms() {
        let mut s = ClassroomStatus {
            classrooms: Vec::new(),
            vm_classrooms: Vec::new(),
        };
        assert!(status(&s).starts_with("no classroom on this machine"));
        s.vm_classrooms
            .push(eclat_service::vm_classroom::VmClassroomView {
                prefix: "s".into(),
                dir: PathBuf::from("/r/vagrant/classroom/s"),
                learners: vec![vm("s01", 2301, "running"), vm("s02", 2302, "not_created")],
            });
        let t = status(&s);
        assert_eq!(
            t,
            "classroom of VMs `s`: 2 VM(s), folder /r/vagrant/classroom/s\n  \
             VM and user    ssh port  password     state (vagrant status)\n  \
             s01            2301      pw-s01       running\n  \
             s02            2302      pw-s02       not_created"
        );
    }

    #[test]
    fn vms_down_says_when_the_folder_stays() {
        let mut d = VmClassroomDown {
            prefix: "s".into(),
            destroyed: vec!["s01".into()],
            dir: PathBuf::from("/r/s"),
            dir_removed: true,
            total_ms: 4200,
        };
        assert_eq!(
            vms_down(&d),
            "classroom of VMs `s` removed in 4.2 s: 1 VM(s) destroyed (s01); removed /r/s"
        );
        d.dir_removed = false;
        assert!(vms_down(&d).ends_with("/r/s kept: it holds files the classroom did not make"));
    }
}
