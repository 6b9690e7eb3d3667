//! Reading a learner's text file (a script, a topology) at the edge: a regular file of at
//! most [`MAX_TEXT`] bytes, never a device or a FIFO that would be read without end, opened
//! with the rights of the user who ran the lab through sudo.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// The largest script or topology file the lab reads (the shipped ones are a few KiB).
pub const MAX_TEXT: u64 = 1 << 20;

/// Reads `path` as text; `what` names it in messages (`script`, `topology file`).
pub fn read(path: &Path, what: &str) -> Result<String> {
    // with the rights of whoever ran the lab through sudo: root would read (and quote in a
    // diagnostic) a file they cannot
    let f = eclat_kernel::perms::open_as_invoking_user(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let meta = f
        .metadata()
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{} is not a regular file: a {what} is a text file",
            path.display()
        );
    }
    let mut bytes = Vec::new();
    f.take(MAX_TEXT + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > MAX_TEXT {
        bail!(
            "{} is larger than {} KiB: not a {what} (those are a few KiB of text)",
            path.display(),
            MAX_TEXT / 1024
        );
    }
    String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{} is not UTF-8 text ({e}): not a {what}", path.display()))
}
