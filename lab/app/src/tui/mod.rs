//! The tutorial's terminal UI (being written).

use std::process::ExitCode;

use eclat_kernel::LabEnv;

pub fn run(_env: LabEnv, _lesson: Option<String>) -> ExitCode {
    eprintln!("the terminal UI is not built yet; use `eclat-lab shell`");
    ExitCode::from(2)
}
