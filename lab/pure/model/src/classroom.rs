//! A classroom on one server, planned: the learners' user names, where each one's lab lives
//! (state directory, bpffs root, namespace prefix, workspace, progress), the roster that
//! records them (`/etc/eclat-lab/classroom/PREFIX.toml`, read by the lab under `sudo` to
//! pick the learner's own lab), and the text of the files `classroom up` installs: the
//! sudoers drop-in and the learner's login files. No I/O: `eclat_kernel::classroom` does
//! the system's part with what this module decides.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where the rosters are, one file per classroom (root's, 0700; files 0600).
pub const ROSTER_DIR: &str = "/etc/eclat-lab/classroom";
/// Where the learners' lab state directories go (one folder each, root's).
pub const STATE_BASE: &str = "/var/lib/eclat-lab/classroom";
/// Where the learners' homes go.
pub const HOME_BASE: &str = "/home";
/// The folder of sudoers drop-ins.
pub const SUDOERS_DIR: &str = "/etc/sudoers.d";
/// The comment (GECOS) of every user `classroom up` creates, followed by the classroom's
/// prefix: `classroom down` deletes a user only if it still carries it.
pub const USER_COMMENT: &str = "eclat-lab classroom";
/// The most learners in one classroom.
pub const MAX_LEARNERS: usize = 500;
/// The most VMs in one classroom of VMs (`crate::vm_classroom`: two-digit names; one host
/// rarely runs more).
pub const MAX_VMS: usize = 99;

/// One classroom: what `classroom up` made, so that `classroom down` removes exactly that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Roster {
    /// the learners' user names are this prefix and a number (`learner01`)
    pub prefix: String,
    /// the eclat-lab binary every learner may run as root (through the sudoers drop-in)
    pub binary: PathBuf,
    /// the sudoers drop-in `classroom up` installed for this classroom
    pub sudoers: PathBuf,
    /// the folders `classroom up` created for the classroom (the rosters' and the labs'
    /// states' folders, when they were not there): `classroom down` removes them when empty
    #[serde(default)]
    pub made: Vec<PathBuf>,
    /// the learners, in the order they were created
    #[serde(default, rename = "learner")]
    pub learners: Vec<Learner>,
}

/// One learner: a Unix user and their own lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Learner {
    /// the Unix user name
    pub user: String,
    /// the user's uid once created; null while `classroom up` is creating it (recorded
    /// before the user exists, so a killed `up` leaves nothing `down` cannot find)
    #[serde(default)]
    pub uid: Option<u32>,
    /// the learner's password as `classroom up` set it (readable by root alone, in the
    /// roster), for the instructor to hand out
    #[serde(default)]
    pub password: String,
    /// the user's home, made by `classroom up` and removed with the user
    pub home: PathBuf,
    /// the lab's state directory (ECLAT_LAB_STATE)
    pub state: PathBuf,
    /// the lab's bpffs root (ECLAT_LAB_BPFFS)
    pub bpffs: PathBuf,
    /// the prefix of the lab's network namespaces (ECLAT_LAB_NS_PREFIX)
    pub ns_prefix: String,
    /// the learner's exercise files (ECLAT_LAB_WORKSPACE), in their home
    pub workspace: PathBuf,
    /// the learner's progress file (ECLAT_LAB_PROGRESS), in their home
    pub progress: PathBuf,
}

impl Learner {
    /// The five environment variables of the learner's lab, as the lab reads them.
    pub fn env_vars(&self) -> [(&'static str, String); 5] {
        [
            ("ECLAT_LAB_STATE", self.state.display().to_string()),
            ("ECLAT_LAB_BPFFS", self.bpffs.display().to_string()),
            ("ECLAT_LAB_NS_PREFIX", self.ns_prefix.clone()),
            ("ECLAT_LAB_WORKSPACE", self.workspace.display().to_string()),
            ("ECLAT_LAB_PROGRESS", self.progress.display().to_string()),
        ]
    }
}

/// A classroom that cannot be planned as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "`{0}` cannot be a classroom's prefix: write 1-16 lowercase letters and digits, \
         starting with a letter (e.g. `learner`)"
    )]
    Prefix(String),
    #[error("a classroom has 1 to {MAX_LEARNERS} learners, not {0}")]
    Count(usize),
    #[error(
        "the binary {0} cannot be named in a sudoers rule: its path must be absolute and made of \
         letters, digits, `/`, `.`, `_` and `-` (install it with `sudo ./setup.sh`, which puts \
         it in /usr/local/bin)"
    )]
    Binary(PathBuf),
    #[error("the roster does not parse: {0}")]
    Roster(String),
    #[error("a classroom of VMs has 1 to {MAX_VMS} learners, not {0}")]
    VmCount(usize),
    #[error(
        "SSH ports {0}+1 to {0}+{1} cannot be forwarded: choose a base from 1024 up that \
         leaves room for every learner below 65536 (`--port-base`)"
    )]
    Ports(u16, usize),
}

/// Checks a classroom's prefix: the user names (`PREFIX` + a number) must be valid Unix user
/// names and short enough for the lab's namespace names.
pub fn check_prefix(prefix: &str) -> Result<(), PlanError> {
    let mut chars = prefix.chars();
    let ok = (1..=16).contains(&prefix.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(PlanError::Prefix(prefix.to_string()))
    }
}

/// The user names of learners 1 to `count`: the prefix and the number, with at least two
/// digits (`learner01` .. `learner30`), so that they sort in order.
pub fn user_names(prefix: &str, count: usize) -> Result<Vec<String>, PlanError> {
    check_prefix(prefix)?;
    if !(1..=MAX_LEARNERS).contains(&count) {
        return Err(PlanError::Count(count));
    }
    let width = count.to_string().len().max(2);
    Ok((1..=count)
        .map(|i| format!("{prefix}{i:0width$}"))
        .collect())
}

/// Where learner `user`'s lab and files go (uid and password still to be filled in).
pub fn learner(user: &str) -> Learner {
    let home = Path::new(HOME_BASE).join(user);
    Learner {
        user: user.to_string(),
        uid: None,
        password: String::new(),
        state: Path::new(STATE_BASE).join(user),
        bpffs: Path::new("/sys/fs/bpf").join(format!("eclat-{user}")),
        ns_prefix: format!("{user}-"),
        workspace: home.join("eclat-lab"),
        progress: home.join(".local/state/eclat-lab/progress.toml"),
        home,
    }
}

/// The roster file of classroom `prefix`.
pub fn roster_path(prefix: &str) -> PathBuf {
    Path::new(ROSTER_DIR).join(format!("{prefix}.toml"))
}

/// The sudoers drop-in of classroom `prefix` (sudo skips names with a dot: there is none).
pub fn sudoers_path(prefix: &str) -> PathBuf {
    Path::new(SUDOERS_DIR).join(format!("eclat-lab-classroom-{prefix}"))
}

/// Checks that `binary` can stand in a sudoers rule as it is (no character sudoers would
/// read as syntax).
pub fn check_binary(binary: &Path) -> Result<(), PlanError> {
    let s = binary.to_str().unwrap_or("");
    let ok = binary.is_absolute()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(PlanError::Binary(binary.to_path_buf()))
    }
}

/// The sudoers drop-in of a classroom: each learner may run the lab's binary as root, with
/// any arguments, and nothing else; their environment is not passed (the lab takes their
/// lab from the roster anyway). Empty when the classroom has no learner.
pub fn sudoers(roster: &Roster) -> String {
    let users: Vec<&str> = roster.learners.iter().map(|l| l.user.as_str()).collect();
    if users.is_empty() {
        return String::new();
    }
    let alias = format!("ECLAT_CLASSROOM_{}", roster.prefix.to_ascii_uppercase());
    let bin = roster.binary.display();
    format!(
        "# eclat-lab classroom `{prefix}`: written by `eclat-lab classroom up`, removed by \
         `eclat-lab classroom down --prefix {prefix}`.\n\
         # Each learner may run the lab's binary as root and nothing else; the lab then drives\n\
         # their own lab only, as {roster} records it.\n\
         User_Alias {alias} = {users}\n\
         Defaults:{alias} env_reset, !setenv\n\
         {alias} ALL = (root) NOPASSWD: {bin}\n",
        prefix = roster.prefix,
        roster = roster_path(&roster.prefix).display(),
        users = users.join(", "),
    )
}

/// The learner's `~/.bash_profile`: the usual `~/.profile`, then the tutorial on an
/// interactive login with a terminal (quitting it leaves the learner in their shell).
pub fn bash_profile(binary: &Path) -> String {
    format!(
        "# eclat-lab classroom: your lab's tutorial opens when you log in. `q` leaves it for this\n\
         # shell; `eclat-lab` opens it again, `eclat-lab shell` is the lab's shell.\n\
         [ -f \"$HOME/.profile\" ] && . \"$HOME/.profile\"\n\
         alias eclat-lab='sudo -n {bin}'\n\
         case $- in *i*) [ -t 0 ] && [ -t 1 ] && sudo -n {bin} ;; esac\n",
        bin = binary.display()
    )
}

/// The learner's `~/.bash_aliases` (read by Debian's `.bashrc`, so every interactive shell,
/// a tmux window too, has it): `eclat-lab` runs the lab as root.
pub fn bash_aliases(binary: &Path) -> String {
    format!(
        "# eclat-lab classroom: the lab runs as root through sudo (your own lab only)\n\
         alias eclat-lab='sudo -n {}'\n",
        binary.display()
    )
}

/// A new learner's progress file: the tutorial opens on lesson `lesson_id` (its id,
/// `08-ddos-mitigation`) at their first login.
pub fn first_progress(lesson_id: &str) -> String {
    format!("current = {}\n", toml::Value::String(lesson_id.to_string()))
}

/// The characters of generated passwords (no 0/O, 1/l/I: read aloud or from a slide).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// A password from random bytes (one character per byte; 10 bytes give 50 bits).
pub fn password(random: &[u8]) -> String {
    random
        .iter()
        .map(|b| PASSWORD_ALPHABET[*b as usize % PASSWORD_ALPHABET.len()] as char)
        .collect()
}

impl Roster {
    /// A new classroom's roster, with no learner yet.
    pub fn new(prefix: &str, binary: &Path) -> Result<Self, PlanError> {
        check_prefix(prefix)?;
        check_binary(binary)?;
        Ok(Self {
            prefix: prefix.to_string(),
            binary: binary.to_path_buf(),
            sudoers: sudoers_path(prefix),
            made: Vec::new(),
            learners: Vec::new(),
        })
    }

    pub fn parse(text: &str) -> Result<Self, PlanError> {
        let r: Self = toml::from_str(text).map_err(|e| PlanError::Roster(e.to_string()))?;
        check_prefix(&r.prefix)?;
        check_binary(&r.binary)?;
        Ok(r)
    }

    pub fn to_toml(&self) -> String {
        format!(
            "# eclat-lab classroom `{}`: written by `eclat-lab classroom up`; `eclat-lab \
             classroom down --prefix {}`\n# removes exactly what it lists. The lab reads it \
             under sudo to find the learner's own lab.\n{}",
            self.prefix,
            self.prefix,
            toml::to_string(self).expect("a roster is always TOML")
        )
    }

    /// The learner with uid `uid` and user name `user`, both as recorded.
    pub fn find(&self, user: &str, uid: u32) -> Option<&Learner> {
        self.learners
            .iter()
            .find(|l| l.user == user && l.uid == Some(uid))
    }

    /// The learners to create for a classroom of `count`: the names not recorded yet.
    pub fn missing(&self, count: usize) -> Result<Vec<String>, PlanError> {
        Ok(user_names(&self.prefix, count)?
            .into_iter()
            .filter(|u| !self.learners.iter().any(|l| &l.user == u))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_prefix_and_a_sorted_number() {
        assert_eq!(
            user_names("learner", 3).unwrap(),
            ["learner01", "learner02", "learner03"]
        );
        let many = user_names("s", 120).unwrap();
        assert_eq!((many[0].as_str(), many[119].as_str()), ("s001", "s120"));
        for bad in ["", "Learner", "1st", "a-b", "a.b", "abcdefghijklmnopq", "é"] {
            assert_eq!(
                user_names(bad, 2),
                Err(PlanError::Prefix(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(user_names("a", 0), Err(PlanError::Count(0)));
        assert_eq!(
            user_names("a", MAX_LEARNERS + 1),
            Err(PlanError::Count(MAX_LEARNERS + 1))
        );
    }

    #[test]
    fn each_learner_has_a_lab_of_their_own() {
        let a = learner("learner01");
        let b = learner("learner02");
        assert_eq!(a.state, Path::new("/var/lib/eclat-lab/classroom/learner01"));
        assert_eq!(a.bpffs, Path::new("/sys/fs/bpf/eclat-learner01"));
        assert_eq!(a.ns_prefix, "learner01-");
        assert_eq!(a.workspace, Path::new("/home/learner01/eclat-lab"));
        assert!(a.progress.starts_with(&a.home));
        // nothing shared between two learners, and no prefix is another's prefix
        for (x, y) in a.env_vars().iter().zip(b.env_vars().iter()) {
            assert_ne!(x.1, y.1, "{}", x.0);
        }
        let names = user_names("p", 12).unwrap();
        for x in &names {
            for y in &names {
                if x != y {
                    assert!(!learner(y).ns_prefix.starts_with(&learner(x).ns_prefix));
                    assert!(!learner(y).bpffs.starts_with(learner(x).bpffs));
                }
            }
        }
    }

    fn roster() -> Roster {
        let mut r = Roster::new("learner", Path::new("/usr/local/bin/eclat-lab")).unwrap();
        for u in user_names("learner", 2).unwrap() {
            r.learners.push(Learner {
                uid: Some(2000 + r.learners.len() as u32),
                password: "x".into(),
                ..learner(&u)
            });
        }
        r
    }

    #[test]
    fn the_roster_reads_back_as_written_and_finds_by_name_and_uid() {
        let r = roster();
        let back = Roster::parse(&r.to_toml()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.find("learner02", 2001).unwrap().user, "learner02");
        // a name with another uid (a user deleted and made again) is not the learner
        assert!(back.find("learner02", 2000).is_none());
        assert!(back.find("learner03", 2002).is_none());
        // a roster whose binary or prefix is not what `up` writes is refused
        let bad = r.to_toml().replace("/usr/local/bin/eclat-lab", "/tmp/x y");
        assert!(matches!(Roster::parse(&bad), Err(PlanError::Binary(_))));
        assert!(matches!(
            Roster::parse("prefix = 3"),
            Err(PlanError::Roster(_))
        ));
        assert_eq!(r.missing(3).unwrap(), ["learner03"]);
        assert!(r.missing(2).unwrap().is_empty());
    }

    #[test]
    fn sudoers_lets_each_learner_run_the_binary_and_nothing_else() {
        let s = sudoers(&roster());
        assert!(
            s.contains("User_Alias ECLAT_CLASSROOM_LEARNER = learner01, learner02\n"),
            "{s}"
        );
        assert!(
            s.contains("Defaults:ECLAT_CLASSROOM_LEARNER env_reset, !setenv\n"),
            "{s}"
        );
        assert!(
            s.ends_with(
                "ECLAT_CLASSROOM_LEARNER ALL = (root) NOPASSWD: /usr/local/bin/eclat-lab\n"
            ),
            "{s}"
        );
        // one rule only, for the binary alone
        assert_eq!(s.lines().filter(|l| l.contains("NOPASSWD")).count(), 1);
        assert!(!s.contains("ALL = (ALL)") && !s.contains(": ALL"), "{s}");
        let mut empty = roster();
        empty.learners.clear();
        assert_eq!(sudoers(&empty), "");
        for bad in [
            "bin/eclat-lab",
            "/opt/my lab/eclat-lab",
            "/x/eclat-lab,ALL",
            "/x:y",
        ] {
            assert!(check_binary(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn login_opens_the_tutorial_on_an_interactive_terminal_only() {
        let p = bash_profile(Path::new("/usr/local/bin/eclat-lab"));
        assert!(p.contains(". \"$HOME/.profile\""), "{p}");
        assert!(
            p.contains(
                "case $- in *i*) [ -t 0 ] && [ -t 1 ] && sudo -n /usr/local/bin/eclat-lab ;; esac"
            ),
            "{p}"
        );
        assert!(
            bash_aliases(Path::new("/b/eclat-lab"))
                .contains("alias eclat-lab='sudo -n /b/eclat-lab'")
        );
    }

    #[test]
    fn a_first_lesson_is_the_progress_files_current_one() {
        assert_eq!(
            first_progress("08-ddos-mitigation"),
            "current = \"08-ddos-mitigation\"\n"
        );
        assert_eq!(first_progress("a\"b"), "current = 'a\"b'\n");
    }

    #[test]
    fn passwords_use_the_unambiguous_alphabet() {
        let p = password(&[0, 1, 31, 32, 255, 100, 7, 8, 9, 10]);
        assert_eq!(p.len(), 10);
        assert!(
            p.chars().all(|c| PASSWORD_ALPHABET.contains(&(c as u8))),
            "{p}"
        );
        assert!(!p.contains(['0', 'o', '1', 'l']), "{p}");
    }
}
