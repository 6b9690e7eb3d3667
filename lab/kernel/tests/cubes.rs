//! Cubes in the real kernel, verdicts by BPF_PROG_TEST_RUN: a packet run through a cube's
//! pinned program follows the tail calls its ports were wired to, so the verdict and the
//! counters of every cube on the way say what is connected. Each test has its own LabEnv and
//! a guard that resets it even when the test fails. Run as root.

use aya::programs::Xdp;
use aya_obj::programs::XdpAttachType;
use eclat_kernel::cube::{self, Source, Stats};
use eclat_kernel::journal::{Journal, Lifetime};
use eclat_kernel::{LabEnv, cleanup, maps};

struct Lab {
    env: LabEnv,
    j: Journal,
}

impl Lab {
    fn new(tag: &str) -> Self {
        assert!(
            eclat_kernel::doctor::privileged(),
            "kernel tests need root (CI runs them as root)"
        );
        let env = LabEnv::for_test(tag);
        let j = Journal::open(&env.state_dir).unwrap();
        Lab { env, j }
    }
    fn add(&mut self, name: &str, builtin: &str) {
        let obj = cube::builtin(builtin).unwrap();
        cube::add(
            &self.env,
            &mut self.j,
            name,
            Source::Builtin(obj),
            None,
            Lifetime::Persistent,
        )
        .unwrap();
    }
    /// The verdict of one packet entering cube `name`.
    fn run(&self, name: &str, packet: &str) -> hike::XdpAction {
        let c = cube::get(&self.env, name).unwrap();
        let prog = Xdp::from_pin(&c.pin, XdpAttachType::Interface).unwrap();
        let frame = eclat_model::packetspec::frame(packet).unwrap();
        eclat_kernel::hike::test_run(&prog, &frame, 1)
            .unwrap()
            .action()
            .unwrap()
    }
    fn stats(&self, name: &str) -> (Stats, u64) {
        let c = cube::get(&self.env, name).unwrap();
        (c.stats.clone(), c.ports[0].tx)
    }
    fn class(&self, cube_name: &str, class: u64) -> u64 {
        let m = maps::find(&self.env, &format!("cube/{cube_name}/mon_class")).unwrap();
        maps::dump(&m, 64)
            .unwrap()
            .rows
            .iter()
            .find(|r| r.key == maps::Value::Int(class))
            .map(|r| match r.value {
                maps::Value::Int(v) => v,
                _ => 0,
            })
            .unwrap_or(0)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = cleanup::reset(&self.env, &mut self.j);
        let _ = std::fs::remove_dir_all(&self.env.state_dir);
    }
}

fn stats(rx: u64, pass: u64, drop: u64, miss: u64) -> Stats {
    Stats {
        rx,
        pass,
        drop,
        miss,
    }
}

const V6: &str = "ipv6 udp dport=5000";

#[test]
fn a_packet_follows_the_wiring_of_the_ports() {
    use hike::XdpAction::{Drop, Pass};
    let mut lab = Lab::new("cubes");
    lab.add("cls", "classifier");
    lab.add("mon", "monitor");
    // nothing on cls:0: IPv6 misses and is dropped (fail closed); IPv4 goes to the stack
    assert_eq!(lab.run("cls", V6), Drop);
    assert_eq!(lab.run("cls", "ipv4 udp dport=5000"), Pass);
    assert_eq!(lab.stats("cls"), (stats(2, 1, 0, 1), 1));
    // wired: the packet reaches the monitor, which ends the chain
    let c = cube::connect(&lab.env, "cls", 0, "mon").unwrap();
    assert_eq!((c.replaced, c.to.as_str()), (None, "mon"));
    assert_eq!(lab.run("cls", V6), Pass);
    assert_eq!(lab.stats("mon"), (stats(1, 1, 0, 0), 0));
    assert_eq!(lab.class("mon", 5000), 1);
    // a second monitor of the same object has maps of its own
    lab.add("mon2", "monitor");
    assert_eq!(lab.class("mon2", 5000), 0);
    let c = cube::connect(&lab.env, "cls", 0, "mon2").unwrap();
    assert_eq!(
        c.replaced.as_deref(),
        Some("mon"),
        "replaced in the same update"
    );
    assert_eq!(lab.run("cls", "ipv6 udp dport=6000"), Pass);
    assert_eq!((lab.class("mon", 6000), lab.class("mon2", 6000)), (0, 1));
    // a chain of three: mon -> mon2 (the monitor forwards when its port is connected)
    cube::connect(&lab.env, "cls", 0, "mon").unwrap();
    cube::connect(&lab.env, "mon", 0, "mon2").unwrap();
    assert_eq!(lab.run("cls", V6), Pass);
    assert_eq!((lab.class("mon", 5000), lab.class("mon2", 5000)), (2, 1));
    assert_eq!(lab.stats("mon").1, 1, "mon sent one out of port 0");

    // removing: refused while a port leads to the cube, then it goes with its pins
    let e = cube::remove(&lab.env, &mut lab.j, "mon2").unwrap_err();
    assert!(e.to_string().contains("mon:0"), "{e}");
    assert_eq!(
        cube::disconnect(&lab.env, "mon", 0).unwrap().as_deref(),
        Some("mon2")
    );
    cube::remove(&lab.env, &mut lab.j, "mon2").unwrap();
    assert!(cube::get(&lab.env, "mon2").is_err());
    assert!(!lab.env.bpffs_root.join("maps/cube/mon2").exists());
    assert!(!lab.env.bpffs_root.join("progs/cube/mon2").exists());
    // names, ports and sources are checked before anything is made
    let obj = cube::builtin("monitor").unwrap();
    for bad in ["1x", "a-b", ""] {
        assert!(
            cube::add(
                &lab.env,
                &mut lab.j,
                bad,
                Source::Builtin(obj),
                None,
                Lifetime::Persistent
            )
            .is_err()
        );
    }
    assert!(cube::connect(&lab.env, "cls", 4, "mon").is_err());
    assert!(
        cube::add(
            &lab.env,
            &mut lab.j,
            "cls",
            Source::Builtin(obj),
            None,
            Lifetime::Persistent
        )
        .unwrap_err()
        .to_string()
        .contains("already")
    );
}
