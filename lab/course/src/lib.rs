//! The course over the lab: the lessons (embedded from `lessons/`), the learner's workspace
//! and progress, the checks that decide when an exercise is done, and `dev check` for
//! authors. It uses the lab only through `eclat-service`; the faces (CLI, REPL, TUI) show it.

pub mod checks;
pub mod devcheck;
mod home;
pub mod lessons;
pub mod progress;
pub mod workspace;

pub use checks::{CheckReport, CheckResult, Diagnostic};
pub use lessons::{Check, Exercise, Lesson};
pub use progress::{Progress, ProgressOp};
