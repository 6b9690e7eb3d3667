//! Preflight: can this machine run the lab, and what to do about what is missing.

use anyhow::Result;
pub use eclat_kernel::doctor::{Check, Level};
use serde::Serialize;

use crate::Lab;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DoctorReport {
    /// every preflight check in a fixed order, each with what it found and how to fix it
    pub checks: Vec<Check>,
    /// no check failed
    pub ok: bool,
}

impl Lab {
    /// Runs every preflight check (mounting bpffs when it is missing and we may).
    pub async fn doctor(&self) -> Result<DoctorReport> {
        self.blocking(|_| {
            let checks = eclat_kernel::doctor::run(true);
            let ok = !checks.iter().any(|c| c.level == Level::Fail);
            Ok(DoctorReport { checks, ok })
        })
        .await
    }
}

/// What the field's tools need, for the lessons' checks that run them.
pub use eclat_kernel::doctor::{
    BCC_PYTHON, bcc_missing, ensure_tracefs, kernel_headers, kernel_version, tool, tracefs,
};
