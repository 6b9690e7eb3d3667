//! A classroom of virtual machines, planned: `eclat-lab classroom up N --vms` gives each
//! learner a whole lab VM of their own from the lab box, made by Vagrant's multi-machine
//! setup (`vagrant/classroom/Vagrantfile`). This module decides the machines' names (the
//! server mode's user names, `learner01`..), each one's SSH port on the host (fixed, so that
//! the instructor can hand it out), the learner's account in the VM (user, password, the
//! server mode's login files), and the roster the command writes in its folder for the
//! Vagrantfile to read (JSON: Ruby reads it without a gem). It also reads
//! `vagrant status --machine-readable`. No I/O: `eclat_kernel::vagrant` runs Vagrant.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::classroom::{self, PlanError};

/// The eclat-lab binary inside a lab VM (the lab box and setup.sh install it there).
pub const GUEST_BINARY: &str = "/usr/local/bin/eclat-lab";
/// Learner `i`'s SSH port on the host is this plus `i` (learner01: 2301): above the ports
/// Vagrant picks for its own SSH forwards (2200-2250), below the ephemeral range.
pub const PORT_BASE: u16 = 2300;
pub use crate::classroom::MAX_VMS;
/// The roster's file name in the classroom's folder.
pub const ROSTER_FILE: &str = "roster.json";
/// The name, in the classroom's folder, of the copy of the script `--load` gave.
pub const LOAD_FILE: &str = "load.eclat";
/// Where that script goes in each VM.
pub const GUEST_LOAD: &str = "/var/lib/eclat-lab/classroom-load.eclat";

/// A classroom of VMs: what the Vagrantfile makes and `classroom down --vms` destroys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VmRoster {
    /// the machines' and accounts' names are this prefix and a number (`learner01`)
    pub prefix: String,
    /// learner `i`'s SSH port on the host is this plus `i`
    pub port_base: u16,
    /// the lesson (its id) the tutorial opens on at a learner's first login
    #[serde(default)]
    pub lesson: Option<String>,
    /// whether each VM's lab loads the script copied into the folder (`load.eclat`)
    #[serde(default)]
    pub load: bool,
    /// the login file of every learner (`~/.bash_profile`): the server mode's, for the
    /// binary in the VM (the tutorial opens at login)
    pub bash_profile: String,
    /// every learner's `~/.bash_aliases`: the server mode's
    pub bash_aliases: String,
    /// the learner's first progress file, when a lesson was given
    #[serde(default)]
    pub progress: Option<String>,
    /// the sudoers drop-in in each VM: its learner runs the lab's binary as root
    pub sudoers: String,
    /// the VMs, learner 1 first
    pub learners: Vec<VmLearner>,
}

/// One learner's VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VmLearner {
    /// the machine's name in Vagrant, its host name and the learner's user name in it
    pub name: String,
    /// the host port forwarded to the VM's SSH port (22)
    pub port: u16,
    /// the learner's password in their VM
    pub password: String,
}

/// Checks a port base for `count` learners: ports base+1..base+count, unprivileged.
pub fn check_ports(port_base: u16, count: usize) -> Result<(), PlanError> {
    if port_base < 1024 || usize::from(port_base) + count > usize::from(u16::MAX) {
        return Err(PlanError::Ports(port_base, count));
    }
    Ok(())
}

/// The names of VMs 1 to `count` (`learner01`..): the server mode's user names.
pub fn names(prefix: &str, count: usize) -> Result<Vec<String>, PlanError> {
    if !(1..=MAX_VMS).contains(&count) {
        return Err(PlanError::VmCount(count));
    }
    classroom::user_names(prefix, count)
}

/// The sudoers drop-in in learner `user`'s VM: the lab's binary as root without a password
/// (the login runs it with `sudo -n`); the VM is theirs, and its `sudo` group gives the rest
/// with their password.
pub fn sudoers(user: &str) -> String {
    format!(
        "# eclat-lab classroom VM: written at provisioning by vagrant/classroom/Vagrantfile\n\
         {user} ALL = (root) NOPASSWD: {GUEST_BINARY}\n"
    )
}

impl VmRoster {
    /// A new classroom of VMs, with no learner yet.
    pub fn new(
        prefix: &str,
        port_base: u16,
        lesson: Option<&str>,
        load: bool,
    ) -> Result<Self, PlanError> {
        classroom::check_prefix(prefix)?;
        check_ports(port_base, 1)?;
        let bin = Path::new(GUEST_BINARY);
        Ok(Self {
            prefix: prefix.to_string(),
            port_base,
            lesson: lesson.map(str::to_string),
            load,
            bash_profile: classroom::bash_profile(bin),
            bash_aliases: classroom::bash_aliases(bin),
            progress: lesson.map(classroom::first_progress),
            sudoers: String::new(),
            learners: Vec::new(),
        })
    }

    /// Grows the classroom to `count` VMs: the missing ones get the next ports and the
    /// passwords `password` makes (one call per new learner); the ones there keep theirs.
    /// Returns the names added. A classroom never shrinks here (`classroom down --vms`
    /// removes it whole).
    pub fn grow(
        &mut self,
        count: usize,
        mut password: impl FnMut() -> String,
    ) -> Result<Vec<String>, PlanError> {
        let wanted = names(&self.prefix, count)?;
        check_ports(self.port_base, count)?;
        let mut added = Vec::new();
        for (i, name) in wanted.into_iter().enumerate() {
            if self.learners.iter().any(|l| l.name == name) {
                continue;
            }
            self.learners.push(VmLearner {
                port: self.port_base + i as u16 + 1,
                password: password(),
                name: name.clone(),
            });
            added.push(name);
        }
        self.learners.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(added)
    }

    /// The roster as the Vagrantfile reads it (the sudoers line filled in per learner there).
    pub fn to_json(&self) -> String {
        let mut r = self.clone();
        r.sudoers = sudoers("%USER%");
        serde_json::to_string_pretty(&r).expect("a roster is always JSON") + "\n"
    }

    pub fn parse(text: &str) -> Result<Self, PlanError> {
        let r: Self = serde_json::from_str(text).map_err(|e| PlanError::Roster(e.to_string()))?;
        classroom::check_prefix(&r.prefix)?;
        check_ports(r.port_base, r.learners.len())?;
        Ok(r)
    }
}

/// One machine's state as `vagrant status --machine-readable` reports it (`running`,
/// `not_created`, `shutoff`, `poweroff`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct VmState {
    pub name: String,
    pub state: String,
}

/// Reads `vagrant status --machine-readable`: lines `TIME,TARGET,TYPE,DATA...`; the `state`
/// lines give each machine's state.
pub fn parse_status(out: &str) -> Vec<VmState> {
    out.lines()
        .filter_map(|line| {
            let mut f = line.splitn(4, ',');
            let (_time, target, kind, data) = (f.next()?, f.next()?, f.next()?, f.next()?);
            (kind == "state" && !target.is_empty()).then(|| VmState {
                name: target.to_string(),
                state: data.trim().to_string(),
            })
        })
        .collect()
}

/// `vagrant up`'s arguments: the lab's provider is the Vagrantfile's choice; one VM at a
/// time when they run under software emulation (`ECLAT_LIBVIRT_DRIVER=qemu`), where VMs
/// booting together starve each other of the host's CPUs, and for VirtualBox, which
/// boots one machine at a time anyway.
pub fn up_args(one_at_a_time: bool) -> Vec<&'static str> {
    let mut a = vec!["up"];
    if one_at_a_time {
        a.push("--no-parallel");
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("pw{n}")
        }
    }

    #[test]
    fn each_learner_has_a_fixed_port_and_the_server_modes_name() {
        let mut r = VmRoster::new("learner", PORT_BASE, None, false).unwrap();
        assert_eq!(
            r.grow(3, pw()).unwrap(),
            ["learner01", "learner02", "learner03"]
        );
        let got: Vec<(&str, u16, &str)> = r
            .learners
            .iter()
            .map(|l| (l.name.as_str(), l.port, l.password.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("learner01", 2301, "pw1"),
                ("learner02", 2302, "pw2"),
                ("learner03", 2303, "pw3")
            ]
        );
    }

    #[test]
    fn growing_keeps_the_learners_there_and_their_passwords() {
        let mut r = VmRoster::new("s", 4000, Some("08-ddos-mitigation"), true).unwrap();
        r.grow(2, || "first".into()).unwrap();
        let added = r.grow(4, || "second".into()).unwrap();
        assert_eq!(added, ["s03", "s04"]);
        assert_eq!(r.learners[1].password, "first");
        assert_eq!(
            (r.learners[3].port, r.learners[3].password.as_str()),
            (4004, "second")
        );
        assert!(r.grow(3, || unreachable!()).unwrap().is_empty());
        assert_eq!(r.learners.len(), 4);
    }

    #[test]
    fn counts_prefixes_and_ports_out_of_range_are_refused() {
        let mut r = VmRoster::new("learner", PORT_BASE, None, false).unwrap();
        assert_eq!(r.grow(0, pw()), Err(PlanError::VmCount(0)));
        assert_eq!(r.grow(100, pw()), Err(PlanError::VmCount(100)));
        assert!(matches!(
            VmRoster::new("Bad", PORT_BASE, None, false),
            Err(PlanError::Prefix(_))
        ));
        assert_eq!(
            VmRoster::new("a", 80, None, false),
            Err(PlanError::Ports(80, 1))
        );
        let mut high = VmRoster::new("a", 65500, None, false).unwrap();
        assert_eq!(high.grow(36, pw()), Err(PlanError::Ports(65500, 36)));
        assert_eq!(high.grow(35, pw()).unwrap().len(), 35);
    }

    #[test]
    fn the_login_is_the_server_modes_for_the_binary_in_the_vm() {
        let r = VmRoster::new("learner", PORT_BASE, Some("08-ddos-mitigation"), false).unwrap();
        assert_eq!(
            r.bash_profile,
            classroom::bash_profile(Path::new("/usr/local/bin/eclat-lab"))
        );
        assert!(r.bash_profile.contains("sudo -n /usr/local/bin/eclat-lab"));
        assert_eq!(
            r.progress.as_deref(),
            Some("current = \"08-ddos-mitigation\"\n")
        );
        assert_eq!(
            sudoers("learner01"),
            "# eclat-lab classroom VM: written at provisioning by vagrant/classroom/Vagrantfile\n\
             learner01 ALL = (root) NOPASSWD: /usr/local/bin/eclat-lab\n"
        );
    }

    #[test]
    fn the_roster_round_trips_through_json() {
        let mut r = VmRoster::new("learner", PORT_BASE, Some("01-hello-xdp"), true).unwrap();
        r.grow(2, pw()).unwrap();
        let text = r.to_json();
        assert!(text.contains("\"port\": 2302"), "{text}");
        let back = VmRoster::parse(&text).unwrap();
        assert_eq!(back.learners, r.learners);
        assert_eq!(back.sudoers, sudoers("%USER%"));
        assert!(VmRoster::parse("{\"prefix\": \"x\"}").is_err());
    }

    #[test]
    fn vagrant_status_is_read_per_machine() {
        let out = "1700000000,learner01,metadata,provider,libvirt\n\
                   1700000000,learner01,provider-name,libvirt\n\
                   1700000000,learner01,state,running\n\
                   1700000000,learner02,state,not_created\n\
                   1700000000,,ui,info,Current machine states:\n";
        assert_eq!(
            parse_status(out),
            [
                VmState {
                    name: "learner01".into(),
                    state: "running".into()
                },
                VmState {
                    name: "learner02".into(),
                    state: "not_created".into()
                }
            ]
        );
        assert!(parse_status("").is_empty());
    }

    #[test]
    fn one_vm_at_a_time_under_emulation() {
        assert_eq!(up_args(true), ["up", "--no-parallel"]);
        assert_eq!(up_args(false), ["up"]);
    }
}
