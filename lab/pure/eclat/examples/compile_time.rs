//! Compile time per script of the corpus of original-style scripts (`tests/corpus`), against the
//! reference catalog: the median and the minimum over many compilations of each script, then
//! the largest median. Build it optimised, as the lab is:
//!
//! ```sh
//! cargo run --release -p eclat --example compile_time [-- ROUNDS]
//! ```
//!
//! A report, not a test: absolute times depend on the machine (the issue's budget is 100 us
//! per script; clang compiling one chain takes about 38 ms here).
use std::time::{Duration, Instant};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/corpus")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eclat"))
        .collect();
    scripts.sort();
    let catalog = hike::catalog::Catalog::reference();
    let defines = vec![("DEVNAME".to_string(), "veth0".to_string())];
    let mut worst = (Duration::ZERO, String::new());
    let mut medians = Vec::new();
    for path in &scripts {
        let src = std::fs::read_to_string(path).expect("script");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            let c = eclat::compile(&src, &name, &catalog, &defines);
            times.push(t.elapsed());
            assert!(c.output.is_some(), "{name} compiles");
        }
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "{name:<28} median {:>6.1} us  min {:>6.1} us  ({} bytes)",
            median.as_secs_f64() * 1e6,
            times[0].as_secs_f64() * 1e6,
            src.len()
        );
        medians.push(median);
        if median > worst.0 {
            worst = (median, name);
        }
    }
    medians.sort();
    println!(
        "{} scripts, {rounds} compilations each: median of medians {:.1} us, largest median {:.1} us ({})",
        scripts.len(),
        medians[medians.len() / 2].as_secs_f64() * 1e6,
        worst.0.as_secs_f64() * 1e6,
        worst.1
    );
}
