//! The topology files shipped in `netns/`, embedded so the binary works from any directory.

use include_dir::{Dir, include_dir};

static NETNS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../netns");

pub const DEFAULT: &str = "hike-lab";

/// Names of the shipped topologies.
pub fn names() -> Vec<String> {
    let mut v: Vec<String> = NETNS
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
        .filter_map(|f| f.path().file_stem()?.to_str().map(String::from))
        .collect();
    v.sort();
    v
}

/// The text of a topology: a shipped name, or a path to a file (anything with `/` or `.toml`).
/// Returns (text, file name for messages).
pub fn source(name_or_path: &str) -> anyhow::Result<(String, String)> {
    if name_or_path.contains('/') || name_or_path.ends_with(".toml") {
        let text = crate::textfile::read(std::path::Path::new(name_or_path), "topology file")?;
        return Ok((text, name_or_path.to_string()));
    }
    let file = format!("{name_or_path}.toml");
    match NETNS.get_file(&file).and_then(|f| f.contents_utf8()) {
        Some(t) => Ok((t.to_string(), format!("netns/{file}"))),
        None => {
            let shipped = names();
            anyhow::bail!(
                "unknown topology `{name_or_path}`{} (shipped: {}); or give a path to a .toml file",
                hike::suggest::did_you_mean(name_or_path, shipped.iter().map(String::as_str)),
                shipped.join(", ")
            )
        }
    }
}
