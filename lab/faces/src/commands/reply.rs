//! What commands give back: one typed value per command ([`Reply`]), rendered once for people
//! (`render`) and once for scripts (`--json`, the value itself, with stable field names), and
//! what long commands stream while they run ([`Update`]).

use eclat_course::CheckReport;
use eclat_course::devcheck::DevReport;
use eclat_kernel::topo::{DownReport, Status};
use eclat_kernel::xdp::AttachReport;
use eclat_service::ResetReport;
use eclat_service::chains::{ChainDis, ChainRow};
use eclat_service::doctor::DoctorReport;
use eclat_service::exec::ExecResult;
use eclat_service::maps::{Cleared, MapDeleted, MapDump, MapRef, MapSet, WatchEnd, WatchFrame};
use eclat_service::modules::{BuildReport, ModuleList, ModuleLoaded, ModuleUnloaded};
use eclat_service::scripts::{LoadReport, UnloadReport};
use eclat_service::testrun::PacketResult;
use eclat_service::topo::{TopoUp, TopologyInfo};
use eclat_service::trace::{TraceItem, TraceSummary};
use eclat_service::traffic::Report as TrafficReport;
use eclat_service::xdp::{Detached, XdpList, XdpLoaded, XdpUnloaded};
use serde::Serialize;

use crate::bench::BenchReport;

/// `topo list`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Topologies {
    /// every topology shipped with the lab (`netns/*.toml`), sorted by name
    pub topologies: Vec<TopologyInfo>,
}

/// `map list`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Maps {
    /// every map the lab has pinned (below its bpffs root's `maps/`), sorted by name; empty when
    /// nothing is loaded
    pub maps: Vec<MapRef>,
}

/// `chain list`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Chains {
    /// every chain stored in the lab's HIKe instance, by ID; empty when no instance exists yet
    pub chains: Vec<ChainRow>,
}

/// `test`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Tested {
    /// the script file as given
    pub script: String,
    /// the chain run directly (`--chain`), or none: through the script's loader
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// one result per packet, in the order given (`--packet`s first, then the frames of `--pcap`)
    pub packets: Vec<PacketResult>,
}

/// One compiled chain (`compile`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CompiledChain {
    /// the chain's name in the script (its `def`)
    pub name: String,
    /// instruction slots (an `lddw` takes two)
    pub insns: usize,
    /// the bytecode, hex, 8 bytes per instruction slot
    pub bytecode: String,
}

/// `compile`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CompileReply {
    /// the script file as given
    pub script: String,
    /// every chain the script defines, compiled, in the script's order
    pub chains: Vec<CompiledChain>,
    /// warnings, with line and column (errors make the command fail, and its JSON error
    /// carries them in the same form)
    pub diagnostics: Vec<eclat::LocatedDiagnostic>,
    /// loader map entries the script configures
    pub map_entries: usize,
    /// loaders the script attaches
    pub attach: usize,
    /// wall time of the compiler alone (no file reading, the catalog already read), in microseconds
    pub compile_us: f64,
    /// what `--emit` asked for (asm, c, bytecode), as text
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emitted: Option<String>,
    /// warnings rendered under the source
    #[serde(skip)]
    pub warnings: String,
}

/// One lesson (`lesson list`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LessonRow {
    /// the lesson's ID (`01-hello-xdp`): its folder below `lessons/`
    pub id: String,
    /// the lesson's number, which commands also take in place of the ID
    pub number: u32,
    /// the lesson's title
    pub title: String,
    /// how many guided steps the tutorial walks through
    pub steps: usize,
    /// how many exercises it has; 0 for a lesson to read and run only
    pub exercises: usize,
    /// exercises whose checks passed
    pub passed: usize,
    /// the topology the lesson works on (`hike-lab`); null when it needs none
    pub topology: Option<String>,
    /// what a learner can do after the lesson, one sentence each
    pub goals: Vec<String>,
}

/// `lesson list`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Lessons {
    /// every lesson shipped in the binary, in the order of their numbers
    pub lessons: Vec<LessonRow>,
}

/// `lesson show`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LessonText {
    /// the lesson's ID
    pub id: String,
    /// the lesson's title
    pub title: String,
    /// what a learner can do after the lesson, one sentence each
    pub goals: Vec<String>,
    /// the lesson's text, Markdown
    pub text: String,
}

/// `lesson hint`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Hint {
    /// the exercise's ID
    pub exercise: String,
    /// which hint (1-based)
    pub hint: usize,
    /// how many hints the exercise has (0 when none)
    pub of: usize,
    /// the hint; `no hints` when the exercise has none
    pub text: String,
    /// which exercise was taken when none was named (absent when one was, or the lesson has one)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picked: Option<Picked>,
}

/// `lesson reset`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExerciseReset {
    /// the exercise file, the starter again
    pub file: String,
    /// where the learner's version went
    pub backup: String,
    /// which exercise was taken when none was named (absent when one was, or the lesson has one)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picked: Option<Picked>,
}

/// `lesson solution`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Solution {
    /// the exercise's ID
    pub exercise: String,
    /// the exercise file's name (the same in the workspace)
    pub file: String,
    /// the reference solution's full text
    pub solution: String,
    /// which exercise was taken when none was named (absent when one was, or the lesson has
    /// one); not printed for people, whose output is the solution's text alone
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picked: Option<Picked>,
}

/// Which exercise a `lesson` command took when none was named, in a lesson of several: the
/// first one not passed yet (the one the tutorial's `c` takes when its step names none), or
/// the first when all have passed; and how to name another.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Picked {
    /// the exercise taken
    pub exercise: String,
    /// every exercise of the lesson had passed already, so the first was taken
    pub all_passed: bool,
    /// the command that takes another exercise when followed by its ID (`lesson check 1`)
    pub command: String,
    /// the lesson's other exercises' IDs, in the lesson's order
    pub others: Vec<String>,
}

/// `lesson check`: the exercise's checks, and which exercise was taken when none was named.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LessonChecked {
    /// the checks' report (its fields appear at the top level of the reply)
    #[serde(flatten)]
    pub report: CheckReport,
    /// which exercise was taken when none was named (absent when one was, or the lesson has one)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picked: Option<Picked>,
}

impl From<CheckReport> for LessonChecked {
    fn from(report: CheckReport) -> Self {
        LessonChecked {
            report,
            picked: None,
        }
    }
}

/// `topo draw`: the drawing, and the file it was written to (`-o`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TopoDrawn {
    /// the drawing (its fields appear at the top level of the reply)
    #[serde(flatten)]
    pub drawing: eclat_service::draw::TopoDrawing,
    /// the file the SVG was written to (absent: printed)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<String>,
}

/// `chain draw`: the drawing, and the file it was written to (`-o`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChainDrawn {
    /// the drawing (its fields appear at the top level of the reply)
    #[serde(flatten)]
    pub drawing: eclat_service::draw::ChainDrawing,
    /// the file the SVG was written to (absent: printed)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<String>,
}

/// `cube graph`: the graph, and the file its drawing was written to (`-o`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CubeGraphed {
    /// the graph (its fields appear at the top level of the reply)
    #[serde(flatten)]
    pub graph: eclat_service::cubes::CubeGraphReply,
    /// the file the SVG was written to (absent: printed, with --svg)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<String>,
}

/// `lesson solve`: the reference solution put in place, and its checks.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Solved {
    /// the exercise file in the workspace, which now holds the reference solution
    pub file: String,
    /// where the learner's own version went
    pub backup: String,
    /// the exercise's checks, run on the solution put in place
    pub check: eclat_course::CheckReport,
    /// which exercise was taken when none was named (absent when one was, or the lesson has one)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picked: Option<Picked>,
}

/// The typed result of every command.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Reply {
    Doctor(DoctorReport),
    TopoUp(TopoUp),
    TopoDown(DownReport),
    TopoStatus(Status),
    TopoList(Topologies),
    TopoDraw(TopoDrawn),
    Exec(ExecResult),
    Traffic(TrafficReport),
    XdpLoad(XdpLoaded),
    XdpAttach(AttachReport),
    XdpDetach(Detached),
    XdpUnload(XdpUnloaded),
    XdpList(XdpList),
    CubeAdd(eclat_service::cubes::CubeAdded),
    CubeConnect(eclat_service::cubes::Connected),
    CubeDisconnect(eclat_service::cubes::CubeDisconnected),
    CubeDel(eclat_service::cubes::CubeRemoved),
    CubeShow(eclat_service::cubes::CubeList),
    CubeGraph(CubeGraphed),
    MapList(Maps),
    MapDump(MapDump),
    MapWatch(WatchEnd),
    MapSet(MapSet),
    MapDelete(MapDeleted),
    MapClear(Cleared),
    ModuleBuild(BuildReport),
    ModuleLoad(ModuleLoaded),
    ModuleUnload(ModuleUnloaded),
    ModuleList(ModuleList),
    Compile(CompileReply),
    Load(LoadReport),
    Unload(UnloadReport),
    Test(Tested),
    ChainList(Chains),
    ChainDis(ChainDis),
    ChainTrace(TraceSummary),
    ChainDraw(ChainDrawn),
    DevCheck(DevReport),
    DevReference(serde_json::Value),
    LessonList(Lessons),
    LessonShow(LessonText),
    LessonCheck(LessonChecked),
    LessonHint(Hint),
    LessonReset(ExerciseReset),
    LessonSolution(Solution),
    LessonSolve(Solved),
    Reset(ResetReport),
    Bench(Box<BenchReport>),
    ClassroomUp(eclat_service::classroom::ClassroomUp),
    ClassroomDown(eclat_service::classroom::ClassroomDown),
    ClassroomStatus(eclat_service::classroom::ClassroomStatus),
    ClassroomVmsUp(eclat_service::vm_classroom::VmClassroomUp),
    ClassroomVmsDown(eclat_service::vm_classroom::VmClassroomDown),
}

impl Reply {
    /// The process's exit code for this result: 0 when the command did what it was asked,
    /// 1 when it ran but found a problem (a failed check, a rejected program, ...), or the
    /// exit code of the command `exec` ran.
    pub fn exit_code(&self) -> u8 {
        let ok = match self {
            Reply::Doctor(d) => d.ok,
            Reply::Exec(e) => return e.exit_code.clamp(0, 255) as u8,
            Reply::Traffic(t) => t.sent == t.requested,
            Reply::ModuleBuild(b) => b.accepted(),
            Reply::DevCheck(d) => d.ok,
            Reply::LessonCheck(c) => c.report.passed,
            Reply::LessonSolve(s) => s.check.passed,
            Reply::Reset(r) => r.kept.is_empty(),
            // a classroom's lab that did not count exactly its own flood: cross-talk or loss
            Reply::Bench(b) => b
                .classroom
                .as_ref()
                .is_none_or(|c| c.runs.iter().all(|r| r.crosstalk.wrong.is_empty())),
            _ => true,
        };
        if ok { 0 } else { 1 }
    }
}

/// What a long command streams while it runs.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Update {
    /// a frame of `map watch`
    Frame(WatchFrame),
    /// an item of `chain trace`
    Trace(TraceItem),
    /// where a long command is (`bench` sections, checks)
    Progress {
        /// the step now starting, one line for a person (`bench 2/4: eCLAT compile, ...`)
        progress: String,
    },
    /// a line a command run with `exec` wrote, as it came
    Output {
        /// the line, without its end of line
        line: String,
    },
}
