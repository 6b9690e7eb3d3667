//! Text of the lab's commands: doctor, topologies, exec, traffic, plain XDP programs, maps,
//! reset.

use eclat_kernel::topo::{DownReport, Status};
use eclat_kernel::xdp::AttachReport;
use eclat_service::ResetReport;
use eclat_service::doctor::{DoctorReport, Level};
use eclat_service::exec::ExecResult;
use eclat_service::maps::{
    ClearMethod, Cleared, MapDeleted, MapDump, MapSet, PerCpu, WatchEnd, WatchFrame,
};
use eclat_service::topo::TopoUp;
use eclat_service::traffic::Report as TrafficReport;
use eclat_service::xdp::{XdpList, XdpLoaded, XdpUnloaded};

use super::count_of;
use crate::commands::{Maps, Topologies};

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

pub fn doctor(d: &DoctorReport) -> String {
    let mut text = String::new();
    for c in &d.checks {
        let mark = match c.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        text.push_str(&format!("[{mark}] {:<10} {}\n", c.name, c.detail));
        if !c.fix.is_empty() {
            text.push_str(&format!("       {:<10} fix: {}\n", "", c.fix));
        }
    }
    let fails = d.checks.iter().filter(|c| c.level == Level::Fail).count();
    text.push_str(&if fails == 0 {
        "All set: run `sudo eclat-lab` to start the tutorial.".to_string()
    } else {
        format!("{fails} problem(s) to fix before the lab can run.")
    });
    text
}

pub fn topo_list(l: &Topologies) -> String {
    let rows: Vec<Vec<String>> = l
        .topologies
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                format!(
                    "{} ({}, {})",
                    t.description,
                    count_of(t.nodes, "node", "nodes"),
                    count_of(t.links, "link", "links")
                ),
            ]
        })
        .collect();
    super::columns(&rows)
}

pub fn topo_up(u: &TopoUp) -> String {
    let r = &u.up;
    if r.already_up {
        return format!(
            "topology {} is already up ({})",
            r.topology,
            r.nodes.join(", ")
        );
    }
    if !u.completed.is_empty() {
        return format!(
            "topology {} was up but incomplete: attached {}",
            r.topology,
            u.completed.join(", ")
        );
    }
    let mut s = String::new();
    if let Some(old) = &u.replaced {
        s.push_str(&format!(
            "took topology {old} down (what ran on it went with it)\n"
        ));
    }
    if !r.rebuilt.is_empty() {
        s.push_str(&format!(
            "topology {} was incomplete ({}): rebuilt it\n",
            r.topology,
            r.rebuilt.join("; ")
        ));
    }
    s += &format!(
        "topology {} up in {:.1} ms: nodes {}, {} links, {} addresses, {} static neighbours",
        r.topology,
        ms(r.elapsed_us),
        r.nodes.join(", "),
        r.links,
        r.addresses,
        r.neighbours
    );
    for a in &u.attached {
        s.push_str(&format!("\nattached {a}"));
    }
    if let Some(n) = r.nodes.first() {
        s.push_str(&format!(
            "\ntry: `exec {n} -- ping -c 1 <address>`, `topo status`"
        ));
    }
    s
}

pub fn topo_down(d: &DownReport) -> String {
    match &d.topology {
        Some(t) => format!(
            "topology {t} down in {:.1} ms (removed {})",
            ms(d.elapsed_us),
            d.removed.join(", ")
        ),
        None => "no topology is up".to_string(),
    }
}

/// `topo status`: every node and interface as the kernel has them.
pub fn format_status(st: &Status) -> String {
    let Some(name) = &st.topology else {
        return "no topology is up (start one with `eclat-lab topo up`)".into();
    };
    let mut s = format!(
        "topology {name}{}\n",
        if st.complete {
            ""
        } else {
            " INCOMPLETE (see the problems below; `eclat-lab topo up` completes or rebuilds it)"
        }
    );
    for n in &st.nodes {
        s.push_str(&format!(
            "{} (netns {}){}{}\n",
            n.node,
            n.netns,
            if n.forwarding { ", forwarding" } else { "" },
            if n.present { "" } else { "  MISSING" }
        ));
        for i in &n.interfaces {
            s.push_str(&format!(
                "  {:<9} {} {} -> {:<15} {}{}\n",
                i.dev,
                i.mac,
                if i.up { "up  " } else { "DOWN" },
                i.peer,
                i.addresses.join(" "),
                match (&i.xdp_prog, i.xdp_prog_id) {
                    (Some(p), Some(id)) => format!(
                        "  [xdp: {p}, id {id}, {}]",
                        i.xdp_mode.as_deref().unwrap_or("?")
                    ),
                    (None, Some(id)) => format!("  [xdp id {id}, not the lab's]"),
                    (Some(p), None) => format!("  [xdp: {p} pinned but not attached]"),
                    (None, None) => String::new(),
                }
            ));
        }
        for p in &n.problems {
            s.push_str(&format!("  problem: {p}\n"));
        }
    }
    s.trim_end().to_string()
}

pub fn exec(e: &ExecResult) -> String {
    // streamed output was shown line by line already
    let mut text = if e.streamed {
        String::new()
    } else {
        e.output.clone().unwrap_or_default()
    };
    let name = e.argv.first().map(String::as_str).unwrap_or("the command");
    if e.interrupted {
        text.push_str(&format!(
            "({name} was sent Ctrl-C and ended with status {})",
            e.exit_code
        ));
    } else if e.exit_code != 0 && e.output.is_some() {
        text.push_str(&format!("({name} exited with status {})", e.exit_code));
    }
    if e.bpf_stats {
        text.push_str(&format!(
            "{}(BPF run-time statistics were on while {name} ran, and are off again)",
            if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            }
        ));
    }
    text.trim_end().to_string()
}

pub fn traffic(r: &TrafficReport) -> String {
    let mut s = format!(
        "{}sent {}/{} {} packets from {} to {} in {:.1} ms ({})",
        if r.stopped { "stopped: " } else { "" },
        r.sent,
        r.requested,
        r.kind,
        r.from,
        r.to,
        ms(r.elapsed_us),
        super::rate(r.achieved_pps, "pkt")
    );
    if let Some(n) = r.replies {
        s.push_str(&format!(", {n} echo replies received"));
        if let Some(w) = r.reply_wait_us.filter(|w| *w >= 1000) {
            s.push_str(&format!(" (then {:.0} ms waiting for replies)", ms(w)));
        }
    }
    if r.send_errors > 0 {
        s.push_str(&format!(
            ", {} send errors (first: {})",
            r.send_errors,
            r.first_error.as_deref().unwrap_or("?")
        ));
    }
    s
}

pub fn xdp_list(l: &XdpList) -> String {
    let mut text = String::from("prebuilt programs:\n");
    for p in &l.prebuilt {
        text.push_str(&format!("  {:<12} {}\n", p.name, p.about));
    }
    text.push_str(if l.attached.is_empty() {
        "nothing attached by the lab"
    } else {
        "attached:\n"
    });
    for a in &l.attached {
        text.push_str(&format!("  {}:{} <- {}\n", a.node, a.dev, a.program));
    }
    if !l.objects.is_empty() {
        text.push_str("\nloaded with `xdp load`:\n");
    }
    for (pkg, progs) in &l.objects {
        text.push_str(&format!("  {pkg}: {}\n", progs.join(", ")));
    }
    text.trim_end().to_string()
}

pub fn xdp_load(x: &XdpLoaded) -> String {
    let mut text = String::new();
    if let Some(b) = &x.build {
        text.push_str(&format!(
            "compiled {} -> {} in {:.0} ms\n",
            b.source, b.object, b.clang_ms
        ));
        if !b.warnings.trim().is_empty() {
            text.push_str(b.warnings.trim_end());
            text.push('\n');
        }
    }
    let r = &x.load;
    for d in &r.detached {
        text.push_str(&format!("detached the earlier version: {d}\n"));
    }
    text.push_str(&format!(
        "{} {} in {:.1} ms: programs {}; maps {}\n",
        if r.replaced { "reloaded" } else { "loaded" },
        r.package,
        ms(r.load_us),
        r.programs.join(", "),
        r.maps.join(", ")
    ));
    text.push_str("nothing is attached yet: `xdp attach PROGRAM NODE DEV`");
    if !r.maps.is_empty() {
        text.push_str("; fill a program array with `map set MAP SLOT PROGRAM`");
    }
    text
}

pub fn xdp_attach(r: &AttachReport) -> String {
    let mut text = String::new();
    if !r.load.already_loaded {
        text.push_str(&format!(
            "loaded {} (verified in {:.1} ms); maps: {}\n",
            r.program,
            ms(r.load.load_us),
            r.load.maps.join(", ")
        ));
    }
    if let Some(p) = &r.replaced {
        text.push_str(&format!("detached {p} from {}:{}\n", r.node, r.dev));
    }
    text.push_str(&format!(
        "attached {} to {}:{} ({} mode)",
        r.program, r.node, r.dev, r.mode
    ));
    text
}

pub fn xdp_unload(u: &XdpUnloaded) -> String {
    let mut s = format!("unloaded {}: its programs and maps are gone", u.object);
    for d in &u.removed.detached {
        s.push_str(&format!("\ndetached {d}"));
    }
    for d in &u.removed.emptied_slots {
        s.push_str(&format!(
            "\nemptied {d}: it held one of the object's programs"
        ));
    }
    s
}

pub fn map_list(m: &Maps) -> String {
    if m.maps.is_empty() {
        return "no maps yet: load something, e.g. `xdp attach xdp_counter sut enp6s0f0`".into();
    }
    let rows: Vec<Vec<String>> = m
        .maps
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                m.map_type.clone(),
                format!("key {}B", m.key_size),
                format!("value {}B", m.value_size),
                format!("max {}", m.max_entries),
            ]
        })
        .collect();
    super::columns(&rows)
}

/// `map dump`: a header saying what the map is and how values are shown, then the entries
/// (decoded through BTF when the lab knows the map's types).
pub fn map_dump(d: &MapDump) -> String {
    let m = &d.map;
    if m.map_type == "prog_array" {
        let mut s = format!(
            "{} (prog_array, {} of {} slots filled)\n",
            m.name,
            d.rows.len(),
            m.max_entries
        );
        for r in &d.rows {
            s.push_str(&format!(
                "  {:>8} : {} (program ID {})\n",
                r.key_shown(),
                r.program.as_deref().unwrap_or("?"),
                r.value
            ));
        }
        return s.trim_end().to_string();
    }
    let types = match (&d.key_type, &d.value_type) {
        (Some(k), Some(v)) => format!("; key {k}, value {v}"),
        _ => String::new(),
    };
    let per_cpu = match d.per_cpu {
        PerCpu::No => "",
        PerCpu::Summed => ", per-CPU values summed",
        PerCpu::EachCpu => ", one value per CPU",
    };
    let mut s = format!(
        "{} ({}, {}{types}{per_cpu})\n",
        m.name,
        m.map_type,
        count_of(d.rows.len(), "entry", "entries")
    );
    for r in &d.rows {
        let label = r
            .label
            .as_ref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        if r.cpus.is_empty() {
            s.push_str(&format!(
                "  {:>8}{label} : {}\n",
                r.key_shown(),
                r.value_shown()
            ));
        } else {
            s.push_str(&format!("  {}{label}\n", r.key_shown()));
            for (cpu, v) in r.cpus_shown().iter().enumerate() {
                s.push_str(&format!("      cpu{cpu}: {v}\n"));
            }
        }
    }
    s.trim_end().to_string()
}

/// One frame of `map watch`: how far into the watch (and the clock time), then a table of
/// every entry with its label and its rate.
pub fn watch_frame(f: &WatchFrame) -> String {
    let secs = f.at_unix_ms / 1000;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let mut text = format!(
        "{}, {:.1} s into the watch ({h:02}:{m:02}:{s:02} UTC)\n",
        f.map,
        f.since_start_ms as f64 / 1000.0
    );
    if f.rows.is_empty() {
        text.push_str("  (no entries)\n");
        return text.trim_end().to_string();
    }
    let keys: Vec<String> = f
        .rows
        .iter()
        .map(|r| match &r.label {
            Some(l) => format!("{} ({l})", r.key),
            None => r.key.clone(),
        })
        .collect();
    let kw = keys.iter().map(|k| k.len()).max().unwrap_or(0).max(3);
    let vw = f
        .rows
        .iter()
        .map(|r| r.value.len())
        .max()
        .unwrap_or(0)
        .max(5);
    let rates: Vec<Option<String>> = f
        .rows
        .iter()
        .map(|r| r.rate.map(|v| super::rate(v, "")))
        .collect();
    let rw = rates.iter().flatten().map(|r| r.len()).max();
    text.push_str(&format!("  {:<kw$}  {:>vw$}", "key", "value"));
    if let Some(rw) = rw {
        text.push_str(&format!("  {:>rw$}", "rate"));
    }
    text.push('\n');
    for ((r, key), rt) in f.rows.iter().zip(&keys).zip(&rates) {
        text.push_str(&format!("  {key:<kw$}  {:>vw$}", r.value));
        if let (Some(rw), Some(rt)) = (rw, rt) {
            text.push_str(&format!("  {rt:>rw$}"));
        }
        text.push('\n');
    }
    text.trim_end().to_string()
}

pub fn watch_end(w: &WatchEnd) -> String {
    if w.stopped {
        format!("stopped watching {} after {} frame(s)", w.map, w.frames)
    } else {
        String::new()
    }
}

pub fn map_set(s: &MapSet) -> String {
    match s.program_id {
        Some(id) => format!("{}[{}] = {} (program ID {id})", s.map, s.key, s.value),
        None if s.per_cpu => format!(
            "{}[{}] = {} (per-CPU map: CPU 0 holds {}, the other CPUs 0, so the sum is {})",
            s.map, s.key, s.value, s.value, s.value
        ),
        None => format!("{}[{}] = {}", s.map, s.key, s.value),
    }
}

pub fn map_delete(d: &MapDeleted) -> String {
    if d.deleted {
        format!("{}[{}] deleted", d.map, d.key)
    } else {
        format!(
            "{}[{}]: the {} was already empty",
            d.map,
            d.key,
            if d.prog_array { "slot" } else { "key" }
        )
    }
}

/// What `map clear` says: the map, how it was emptied, how many entries that took.
pub fn map_clear(c: &Cleared) -> String {
    let head = format!("cleared {} ({})", c.map.name, c.map.map_type);
    match c.method {
        ClearMethod::Delete => {
            let mut s = if c.cleared == 0 && c.vanished == 0 {
                format!("{head}: it was already empty")
            } else {
                format!(
                    "{head}: deleted {}",
                    count_of(c.cleared, "entry", "entries")
                )
            };
            if c.vanished > 0 {
                s.push_str(&if c.vanished == 1 {
                    "; 1 other entry was gone before its turn (the program or the map's LRU \
                     removed it)"
                        .to_string()
                } else {
                    format!(
                        "; {} other entries were gone before their turn (the program or the \
                         map's LRU removed them)",
                        c.vanished
                    )
                });
            }
            s
        }
        ClearMethod::Zero => {
            let total = c.map.max_entries as usize;
            let cpus = if c.map.per_cpu() { " on every CPU" } else { "" };
            if c.cleared == 0 {
                format!(
                    "{head}: every value was already 0 ({})",
                    count_of(total, "entry", "entries")
                )
            } else {
                format!(
                    "{head}: zeroed {} of {}{cpus} (an array keeps its keys: the values are 0 again)",
                    c.cleared,
                    count_of(total, "entry", "entries")
                )
            }
        }
    }
}

pub fn reset(r: &ResetReport) -> String {
    let mut text = if r.removed.is_empty() {
        "nothing to remove: the lab has nothing in the kernel".to_string()
    } else {
        format!(
            "removed {} the lab had created:",
            count_of(r.removed.len(), "object", "objects")
        )
    };
    for x in &r.removed {
        text.push_str(&format!("\n  - {x}"));
    }
    for k in &r.kept {
        text.push_str(&format!("\n  could not remove {k}"));
    }
    if !r.foreign.is_empty() {
        text.push_str(&format!(
            "\nleft in place, not the lab's ({}):",
            count_of(r.foreign.len(), "thing", "things")
        ));
        for f in &r.foreign {
            text.push_str(&format!("\n  - {f}"));
        }
    }
    text
}

/// `reset` in a line, for the tutorial emptying the lab for a lesson opened from another
/// (every pin it removed would fill its event log); what could not be removed is listed as
/// `reset` lists it.
pub fn reset_brief(r: &ResetReport) -> String {
    let mut text = if r.removed.is_empty() {
        "the lab was empty already".to_string()
    } else {
        format!(
            "removed {} the lab had created: the lab is empty",
            count_of(r.removed.len(), "object", "objects")
        )
    };
    for k in &r.kept {
        text.push_str(&format!("\n  could not remove {k}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use eclat_service::maps::MapRef;

    fn cleared(map_type: &str, max: u32, method: ClearMethod, n: usize, gone: usize) -> Cleared {
        Cleared {
            map: MapRef {
                name: "pkg/prog/m".into(),
                path: "/nonexistent".into(),
                map_type: map_type.into(),
                key_size: 4,
                value_size: 8,
                max_entries: max,
                id: 1,
            },
            method,
            cleared: n,
            vanished: gone,
        }
    }

    #[test]
    fn clear_says_how_many_entries_it_cleared() {
        use ClearMethod::{Delete, Zero};
        assert_eq!(
            map_clear(&cleared("lru_hash", 4096, Delete, 1, 0)),
            "cleared pkg/prog/m (lru_hash): deleted 1 entry"
        );
        assert_eq!(
            map_clear(&cleared("hash", 64, Delete, 0, 0)),
            "cleared pkg/prog/m (hash): it was already empty"
        );
        assert_eq!(
            map_clear(&cleared("hash", 64, Delete, 3, 2)),
            "cleared pkg/prog/m (hash): deleted 3 entries; 2 other entries were gone before \
             their turn (the program or the map's LRU removed them)"
        );
        assert_eq!(
            map_clear(&cleared("percpu_array", 16, Zero, 2, 0)),
            "cleared pkg/prog/m (percpu_array): zeroed 2 of 16 entries on every CPU (an array \
             keeps its keys: the values are 0 again)"
        );
        assert_eq!(
            map_clear(&cleared("array", 1, Zero, 0, 0)),
            "cleared pkg/prog/m (array): every value was already 0 (1 entry)"
        );
    }

    #[test]
    fn a_watch_frame_has_a_clock_and_labels() {
        use eclat_service::maps::WatchRow;
        let f = WatchFrame {
            map: "system/hvm_stats".into(),
            at_unix_ms: 3_723_004,
            since_start_ms: 2_000,
            rows: vec![
                WatchRow {
                    key: "2".into(),
                    label: Some("NO_CHAIN".into()),
                    value: "7".into(),
                    rate: Some(2.5),
                },
                WatchRow {
                    key: "10".into(),
                    label: None,
                    value: "12345".into(),
                    rate: Some(0.0),
                },
            ],
        };
        assert_eq!(
            watch_frame(&f),
            "system/hvm_stats, 2.0 s into the watch (01:02:03 UTC)\n  \
             key           value   rate\n  \
             2 (NO_CHAIN)      7  2.5/s\n  \
             10            12345    0/s"
        );
    }
}
