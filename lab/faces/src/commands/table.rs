//! The command table: one clap definition parsed from the shell's argv, from REPL lines and
//! from the TUI's command line, so the three always accept the same commands. `--json` is one
//! global flag: every command's typed result, as JSON, instead of text for people.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "eclat-lab",
    version,
    about = "An interactive lab for dataplane programming with eBPF, HIKe and eCLAT",
    long_about = "Without a command, opens the tutorial (the terminal UI) where you left off.\n\
                  Commands that change the kernel need root: run them with sudo."
)]
pub struct Cli {
    /// Print the command's result as JSON (field names are stable; see the book's command
    /// reference) instead of text for people
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Open the tutorial (terminal UI), at LESSON or where you left off
    Tutorial { lesson: Option<String> },
    /// The interactive shell: every command without the `eclat-lab` prefix (also `repl`)
    #[command(alias = "repl")]
    Shell,
    /// Check that this machine can run the lab, and say how to fix what is missing
    Doctor,
    /// Network namespaces of a topology (netns/NAME.toml)
    #[command(subcommand)]
    Topo(TopoCmd),
    /// Run a command inside a node's network namespace: exec NODE -- CMD [ARGS...]
    /// (in the tutorial and the shell its output streams; Esc / Ctrl-C sends it Ctrl-C)
    Exec {
        /// Count every BPF program's runs and run time while the command runs (`bpftool prog
        /// show` prints them as run_cnt and run_time_ns); off again when it ends
        #[arg(long)]
        bpf_stats: bool,
        node: String,
        #[arg(last = true, required = true, num_args = 1..)]
        argv: Vec<String>,
    },
    /// Send packets from a node with the built-in generator (exact counts)
    Traffic(TrafficArgs),
    /// Plain XDP programs (lesson 1's counter, your own objects): load, attach, detach, list
    #[command(subcommand)]
    Xdp(XdpCmd),
    /// Cubes: network functions with ports, wired into a service chain (lesson 5)
    #[command(subcommand)]
    Cube(CubeCmd),
    /// eBPF maps of the lab: list, dump, watch, set, delete, clear
    #[command(subcommand)]
    Map(MapCmd),
    /// eBPF C modules: build (clang, then the kernel's verifier)
    #[command(subcommand)]
    Module(ModuleCmd),
    /// Compile an eCLAT script (no root needed): diagnostics, or the chains
    Compile {
        script: PathBuf,
        /// What to print: asm (annotated disassembly), c (the equivalent HIKe C), bytecode
        #[arg(long, value_parser = ["asm", "c", "bytecode"])]
        emit: Option<String>,
        /// Substitute NAME by VALUE before compiling (e.g. -D DEVNAME=enp6s0f0)
        #[arg(short = 'D', value_name = "NAME=VALUE")]
        define: Vec<String>,
    },
    /// Compile a script, register its programs, store its chains, configure and attach its loader
    Load {
        script: PathBuf,
        #[arg(short = 'D', value_name = "NAME=VALUE")]
        define: Vec<String>,
        /// Take over loader entries another loaded script owns, and interfaces where another
        /// loaded script's loader is attached (it gets them back when this script is unloaded)
        #[arg(long)]
        replace: bool,
    },
    /// Remove a loaded script: its chains, loader entries and attachments; frees its IDs
    Unload { script: PathBuf },
    /// Run a script's chains on crafted packets in the kernel (BPF_PROG_TEST_RUN), no topology
    Test {
        script: PathBuf,
        #[arg(short = 'D', value_name = "NAME=VALUE")]
        define: Vec<String>,
        /// A packet in the lab's packet syntax, e.g. "ipv6 udp dport=5000" (repeatable)
        #[arg(long = "packet", short = 'p', value_name = "SPEC")]
        packets: Vec<String>,
        /// Every Ethernet frame of a pcap file
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Run this chain directly on the packets, without the script's loader (default: the
        /// script's only chain when it configures no loader)
        #[arg(long)]
        chain: Option<String>,
        /// Stop the programs' clock at MS milliseconds (not 0): token buckets do not refill
        /// and blacklist entries do not expire between packets, so every run gives the same
        /// verdicts
        #[arg(long, value_name = "MS", value_parser = clock_ms)]
        clock: Option<std::num::NonZeroU32>,
        /// With --clock: move the clock MS milliseconds forward after each packet
        #[arg(long, value_name = "MS", requires = "clock")]
        tick: Option<u32>,
    },
    /// HIKe chains stored in the lab: list, disassemble, trace live
    #[command(subcommand)]
    Chain(ChainCmd),
    /// Lesson authoring: every starter fails its checks and every solution passes them
    #[command(subcommand)]
    Dev(DevCmd),
    /// Same as `map dump` (the original HIKe CLI's name)
    #[command(name = "read-map")]
    ReadMap { name: String },
    /// Lessons without the terminal UI
    #[command(subcommand)]
    Lesson(LessonCmd),
    /// Remove everything the lab created (namespaces, attachments, pins), nothing else
    Reset,
    /// Performance figures, measured against baselines in the same run
    Bench(BenchArgs),
    /// A classroom on this server: N learners, each a Unix user with a lab of their own
    /// (instructor, as root)
    #[command(subcommand)]
    Classroom(ClassroomCmd),
}

#[derive(Debug, Subcommand)]
pub enum ClassroomCmd {
    /// Create the learners PREFIX01..PREFIXnn this classroom lacks (user, home, password,
    /// their own lab: state, bpffs root, namespace prefix; the tutorial on login; sudo for
    /// the lab's binary alone), then bring their labs up; again, it creates only what is
    /// missing
    Up {
        /// how many learners the classroom has
        count: usize,
        /// the learners' user names: PREFIX and a number
        #[arg(long, default_value = "learner")]
        prefix: String,
        /// the topology each lab without one is brought up with (default hike-lab)
        #[arg(long)]
        topology: Option<String>,
        /// an eCLAT script loaded in each lab it brings up (e.g. lesson 8's DDoS policy)
        #[arg(long, value_name = "SCRIPT")]
        load: Option<PathBuf>,
        /// the lesson the new learners' tutorial opens on at their first login (default:
        /// lesson 1)
        #[arg(long)]
        lesson: Option<String>,
        /// a VM per learner instead, from the lab box, with Vagrant (vagrant/classroom/
        /// Vagrantfile, run from the lab's repository): machines PREFIX01..PREFIXnn, each
        /// reached by its learner with `ssh -p PORT PREFIXnn@HOST` (as any user who may run
        /// Vagrant; no root needed)
        #[arg(long)]
        vms: bool,
        /// with --vms: learner i's SSH port on this host is this plus i
        #[arg(long, requires = "vms", value_name = "PORT")]
        port_base: Option<u16>,
    },
    /// Remove a classroom: each learner's sessions ended, lab reset, user and home deleted,
    /// then its sudoers file and roster; only what `classroom up` recorded
    Down {
        /// the classroom's prefix, as given to `classroom up`
        #[arg(long, default_value = "learner")]
        prefix: String,
        /// a classroom of VMs (`classroom up N --vms`): `vagrant destroy` its VMs, then
        /// remove its folder
        #[arg(long)]
        vms: bool,
    },
    /// The classrooms on this machine: learners, passwords, labs, who is logged in; and the
    /// classrooms of VMs with each VM's state (`vagrant status`)
    Status {
        /// only the classrooms of VMs (no root needed)
        #[arg(long)]
        vms: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TopoCmd {
    /// Build a topology: a name from netns/ (default hike-lab) or a path to a .toml file
    Up {
        name: Option<String>,
        /// take down another topology that is up first (what was attached to it goes with
        /// it); without it, `topo up` refuses while another one is up
        #[arg(long)]
        replace: bool,
        /// take down the topology that is up, this one too, and build this one anew: nothing
        /// attached to it survives (a resumed lesson starts from here)
        #[arg(long, conflicts_with = "replace")]
        fresh: bool,
    },
    /// Remove the topology that is up
    Down,
    /// Show the topology as the kernel sees it
    Status,
    /// List the topologies shipped with the lab
    List,
    /// Draw a topology file as SVG (nodes, links, interfaces, addresses, XDP programs); no
    /// root needed
    Draw {
        /// a name from netns/ (default hike-lab) or a path to a .toml file
        name: Option<String>,
        /// Write the SVG to this file instead of printing it
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Args, Clone)]
pub struct TrafficArgs {
    /// Node that sends
    #[arg(long)]
    pub from: String,
    /// Destination address (IPv6 or IPv4)
    #[arg(long)]
    pub to: Option<String>,
    /// Send UDP datagrams to this destination port
    #[arg(long, value_name = "PORT", conflicts_with_all = ["icmp", "pcap"])]
    pub udp: Option<u16>,
    /// Send ICMP echo requests (and count the replies)
    #[arg(long, conflicts_with = "pcap")]
    pub icmp: bool,
    /// Replay the Ethernet frames of a pcap file out of --dev
    #[arg(long, value_name = "FILE", requires = "dev")]
    pub pcap: Option<PathBuf>,
    /// Interface to send the pcap frames from
    #[arg(long)]
    pub dev: Option<String>,
    /// Number of packets (default 10; with --pcap, every frame once)
    #[arg(long)]
    pub count: Option<u64>,
    /// Packets per second (default: as fast as possible)
    #[arg(long)]
    pub rate: Option<f64>,
    /// UDP payload size in bytes
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Send the UDP datagrams in N flows that differ in their source port (packets round
    /// robin; checksums computed in full, from a raw socket)
    #[arg(long, value_name = "N", requires = "udp")]
    pub flows: Option<u16>,
    /// The first flow's source port (the others count up from it)
    #[arg(long, value_name = "PORT", requires = "flows", default_value_t = 40000)]
    pub sport: u16,
}

#[derive(Debug, Subcommand)]
pub enum XdpCmd {
    /// Build your own FILE.bpf.c (clang, or take FILE.o) and load every XDP program and map
    /// in it, pinned under the lab's root; nothing is attached and program arrays stay empty
    /// (`xdp attach PROGRAM NODE DEV`, `map set PROG_ARRAY SLOT PROGRAM`). Loading the same
    /// file again replaces the earlier version (and detaches its programs)
    Load { file: PathBuf },
    /// Attach a prebuilt program, or one of yours loaded with `xdp load`, to NODE's interface
    /// DEV (replaces what the lab attached there)
    Attach {
        program: String,
        node: String,
        dev: String,
        /// Generic (skb) mode instead of the driver's native mode
        #[arg(long)]
        skb: bool,
    },
    /// Detach what the lab attached to NODE's interface DEV
    Detach { node: String, dev: String },
    /// Remove an object loaded with `xdp load` (by file or name): attached programs are
    /// detached first, slots of other program arrays holding its programs are emptied, then
    /// its programs and maps go
    Unload { object: String },
    /// Attachments and prebuilt programs
    List,
}

/// `CUBE:PORT`.
fn cube_port(s: &str) -> Result<(String, u32), String> {
    let (c, p) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("`{s}`: give CUBE:PORT, e.g. cls:0"))?;
    let p = p
        .parse::<u32>()
        .map_err(|_| format!("`{s}`: the port is a number, e.g. {c}:0"))?;
    Ok((c.to_string(), p))
}

#[derive(Debug, Subcommand)]
pub enum CubeCmd {
    /// Load a cube called NAME: a built-in one (classifier, monitor) or your own
    /// FILE.bpf.c / FILE.o (`FILE:PROGRAM` picks one of several programs). Every cube is a
    /// load of its own, with its own maps; nothing is connected
    Add { name: String, source: String },
    /// Connect output port PORT of cube FROM to cube TO: one update of FROM's port slot,
    /// which replaces the cube connected there in the same step
    Connect {
        #[arg(value_parser = cube_port, value_name = "FROM:PORT")]
        from: (String, u32),
        to: String,
    },
    /// Empty output port PORT of cube FROM (packets sent there are then dropped, as misses)
    Disconnect {
        #[arg(value_parser = cube_port, value_name = "FROM:PORT")]
        from: (String, u32),
    },
    /// Attach cube NAME to NODE's interface DEV: packets arriving there enter the chain
    Attach {
        name: String,
        node: String,
        dev: String,
    },
    /// Remove cube NAME with its maps (refused while a port of another cube leads to it; an
    /// attachment of its program ends with it)
    Del { name: String },
    /// Every cube (or one): its ports and what they connect to, its counters, where it is
    /// attached
    Show { name: Option<String> },
    /// The graph of what is wired, read back from the kernel; --svg draws it
    Graph {
        /// Print the graph as SVG instead
        #[arg(long)]
        svg: bool,
        /// With --svg: write it to FILE instead of printing it
        #[arg(short = 'o', long = "output", requires = "svg")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MapCmd {
    /// Every map the lab has pinned
    List,
    /// Every entry of a map (per-CPU values summed)
    Dump { name: String },
    /// Print a map's entries and their rates, every INTERVAL ms
    Watch {
        name: String,
        #[arg(long, default_value_t = 1000)]
        interval: u64,
        /// Stop after this many updates (default: until interrupted; 10 in the shell)
        #[arg(long)]
        count: Option<u64>,
    },
    /// Write VALUE at KEY (numbers, 0x-hex, or XDP verdicts like DROP); in a program array,
    /// KEY is a slot and VALUE a loaded program's name (`map set pipe_progs 1 pipe_set_ecn`)
    Set {
        name: String,
        key: String,
        value: String,
    },
    /// Delete the entry at KEY: empty a program array's slot, remove a hash map's key
    Delete { name: String, key: String },
    /// Empty a map: delete every entry of a hash map, zero every value of an array
    /// (program arrays and ring buffers are refused); says how many entries it cleared
    Clear { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ChainCmd {
    /// Chains stored in hvm_chain_map, with the scripts they came from
    List,
    /// Disassemble a stored chain (by ID, e.g. 0x40000001, or by name), and show what the
    /// chain compiler wrote after each of its calls
    Dis { id: String },
    /// Print, live, every chain entry, program call (arguments, return value) and verdict
    Trace {
        /// Stop after this many seconds
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Draw a script's chain as SVG: its compiled form (each call site and where every
    /// path goes), or with --path the way of a packet through loader, VM and programs; no
    /// root needed
    Draw {
        script: PathBuf,
        /// The chain (default: the first, or with --path the one the loader's map names)
        #[arg(long)]
        chain: Option<String>,
        /// Draw the packet's path instead of the compiled chain
        #[arg(long)]
        path: bool,
        /// With --path: the node the loader runs on
        #[arg(long, default_value = "sut")]
        node: String,
        #[arg(short = 'D', value_name = "NAME=VALUE")]
        define: Vec<String>,
        /// Write the SVG to this file instead of printing it
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCmd {
    /// Prove every exercise: its starter fails its checks, its solution passes them (LESSON:
    /// only that lesson's, by number or name)
    Check { lesson: Option<String> },
    /// The JSON fields of every command's `--json` result (the book's command reference)
    Reference,
}

#[derive(Debug, Subcommand)]
pub enum ModuleCmd {
    /// Register a prebuilt HIKe program (PACKAGE.PROGRAM, e.g. hike_default.monitor), or build
    /// and load your own module (FILE.bpf.c or FILE.o; import it as programs.<file stem>)
    Load { program: String },
    /// Unregister programs and free their IDs: PACKAGE.PROGRAM, or a whole PACKAGE (your own
    /// module's pins and maps go too); refused while a loaded script calls them
    Unload { program: String },
    /// Every HIKe program and loader the lab knows, with signatures and IDs
    List,
    /// Compile FILE.bpf.c with clang and have the kernel verify every program in it
    /// (nothing is attached); clang's errors and warnings and a rejection are shown as
    /// `lesson check` shows them: at the source line, with what to do (with --json, as
    /// `diagnostics`)
    Build { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum LessonCmd {
    /// The lessons and your progress
    List,
    /// Show a lesson's text
    Show { id: String },
    /// Run the checks of a lesson's exercise on your copy of its file
    Check {
        /// the lesson: its number or ID (`1`, `01-hello-xdp`)
        id: String,
        /// the exercise's ID; without it, the lesson's first exercise not passed yet (the
        /// reply says which one it took, and how to name the others)
        exercise: Option<String>,
    },
    /// The next hint for an exercise (each call shows one more)
    Hint {
        /// the lesson: its number or ID (`1`, `01-hello-xdp`)
        id: String,
        /// the exercise's ID; without it, the lesson's first exercise not passed yet (the
        /// reply says which one it took, and how to name the others)
        exercise: Option<String>,
    },
    /// Put the starter file back (your version is kept as .bak)
    Reset {
        /// the lesson: its number or ID (`1`, `01-hello-xdp`)
        id: String,
        /// the exercise's ID; without it, the lesson's first exercise not passed yet (the
        /// reply says which one it took, and how to name the others)
        exercise: Option<String>,
    },
    /// The reference solution, once your checks pass (an instructor's session,
    /// ECLAT_LAB_INSTRUCTOR=1, opens it at once)
    Solution {
        /// the lesson: its number or ID (`1`, `01-hello-xdp`)
        id: String,
        /// the exercise's ID; without it, the lesson's first exercise not passed yet (the
        /// reply says which one it took, and how to name the others)
        exercise: Option<String>,
    },
    /// Catch up: put the reference solution in place of your file (yours is kept as .bak),
    /// run the checks, and record the exercise as done
    Solve {
        /// the lesson: its number or ID (`1`, `01-hello-xdp`)
        id: String,
        /// the exercise's ID; without it, the lesson's first exercise not passed yet (the
        /// reply says which one it took, and how to name the others)
        exercise: Option<String>,
    },
}

pub use crate::bench::BenchArgs;

impl Cmd {
    /// Does this command change the kernel (and so need root)?
    pub fn needs_root(&self) -> bool {
        !matches!(
            self,
            Cmd::Tutorial { .. }
                | Cmd::Shell
                | Cmd::Doctor
                | Cmd::Lesson(
                    LessonCmd::List
                        | LessonCmd::Show { .. }
                        | LessonCmd::Hint { .. }
                        | LessonCmd::Reset { .. }
                        | LessonCmd::Solution { .. }
                )
                | Cmd::Compile { .. }
                | Cmd::Dev(DevCmd::Reference)
                | Cmd::Module(ModuleCmd::List)
                | Cmd::Topo(TopoCmd::List | TopoCmd::Draw { .. })
                | Cmd::Chain(ChainCmd::Draw { .. })
                | Cmd::Xdp(XdpCmd::List)
        )
    }

    /// Does this command leave the lab in another state for the commands after it (an
    /// object loaded or attached, a wire, a map value)? `module build` does not: it
    /// compiles and verifies, and `module load` builds again. A lesson resumed at
    /// a later step runs again its earlier steps' commands that do (traffic, looks and
    /// checks change nothing a later step needs). The topology is not one of them: the
    /// lesson brings its own up first.
    pub fn changes_lab(&self) -> bool {
        matches!(
            self,
            Cmd::Xdp(XdpCmd::Load { .. } | XdpCmd::Attach { .. })
                | Cmd::Xdp(XdpCmd::Detach { .. } | XdpCmd::Unload { .. })
                | Cmd::Cube(
                    CubeCmd::Add { .. }
                        | CubeCmd::Connect { .. }
                        | CubeCmd::Disconnect { .. }
                        | CubeCmd::Attach { .. }
                        | CubeCmd::Del { .. }
                )
                | Cmd::Map(MapCmd::Set { .. } | MapCmd::Delete { .. } | MapCmd::Clear { .. })
                | Cmd::Module(ModuleCmd::Load { .. } | ModuleCmd::Unload { .. })
                | Cmd::Load { .. }
                | Cmd::Unload { .. }
        )
    }

    /// A short name of the command for messages: `topo up`, `load`.
    pub fn describe(&self) -> String {
        let s = format!("{self:?}").to_lowercase();
        let words: Vec<&str> = s
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(2)
            .collect();
        match self {
            Cmd::Topo(_)
            | Cmd::Xdp(_)
            | Cmd::Cube(_)
            | Cmd::Map(_)
            | Cmd::Lesson(_)
            | Cmd::Chain(_)
            | Cmd::Module(_)
            | Cmd::Dev(_) => words.join(" "),
            _ => words.first().copied().unwrap_or("").to_string(),
        }
    }
}

/// The top-level command names, for completion and help.
pub fn command_names() -> Vec<String> {
    use clap::CommandFactory;
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Subcommand names of a top-level command (`topo` -> up, down, ...).
pub fn subcommand_names(cmd: &str) -> Vec<String> {
    use clap::CommandFactory;
    Cli::command()
        .find_subcommand(cmd)
        .map(|c| {
            c.get_subcommands()
                .map(|s| s.get_name().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `test --clock MS`: a time in ms above 0 (0 would mean the kernel's own clock).
fn clock_ms(s: &str) -> Result<std::num::NonZeroU32, String> {
    let ms: u32 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of milliseconds (1 to 4294967295)"))?;
    std::num::NonZeroU32::new(ms)
        .ok_or_else(|| "the clock starts above 0 ms (try --clock 1000)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn exec_takes_the_rest_after_dashes() {
        let c = Cli::try_parse_from([
            "eclat-lab",
            "exec",
            "tg",
            "--",
            "ping",
            "-6",
            "-c",
            "3",
            "fc01::2",
        ])
        .unwrap();
        match c.cmd {
            Some(Cmd::Exec {
                node,
                argv,
                bpf_stats,
            }) => {
                assert!(!bpf_stats);
                assert_eq!(node, "tg");
                assert_eq!(argv, ["ping", "-6", "-c", "3", "fc01::2"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn classroom_vms_and_its_port_base() {
        let c = Cli::try_parse_from([
            "eclat-lab",
            "classroom",
            "up",
            "3",
            "--vms",
            "--port-base",
            "4000",
        ])
        .unwrap();
        match c.cmd {
            Some(Cmd::Classroom(ClassroomCmd::Up {
                count,
                vms,
                port_base,
                ..
            })) => assert_eq!((count, vms, port_base), (3, true, Some(4000))),
            other => panic!("{other:?}"),
        }
        // a port base means nothing without VMs
        assert!(
            Cli::try_parse_from(["eclat-lab", "classroom", "up", "3", "--port-base", "4000"])
                .is_err()
        );
        assert!(
            Cli::try_parse_from([
                "eclat-lab",
                "classroom",
                "up",
                "3",
                "--vms",
                "--port-base",
                "x"
            ])
            .is_err()
        );
        match Cli::try_parse_from(["eclat-lab", "classroom", "down", "--vms"])
            .unwrap()
            .cmd
        {
            Some(Cmd::Classroom(ClassroomCmd::Down { prefix, vms })) => {
                assert_eq!((prefix.as_str(), vms), ("learner", true))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn traffic_kinds_are_exclusive() {
        assert!(
            Cli::try_parse_from([
                "eclat-lab",
                "traffic",
                "--from",
                "tg",
                "--udp",
                "5",
                "--icmp"
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_from(["eclat-lab", "traffic", "--from", "tg", "--pcap", "x.pcap"])
                .is_err()
        );
    }
}
