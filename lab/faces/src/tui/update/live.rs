//! The live panels: map samples become rows with rates and sparklines; trace lines become the
//! chain-trace timeline, packet by packet.

use std::collections::VecDeque;

use eclat_kernel::topo::Status;
use eclat_service::maps::Sample;

use crate::tui::state::{
    App, HISTORY, MapRow, PanelState, RATE_WINDOW, TRACE_MAX, TraceKind, TraceLine,
};

/// Orders each interface's addresses for display: those the lesson mentions first, then
/// IPv6, then IPv4 (the kernel reports them in the order they were added).
pub fn sort_addresses(lesson_text: &str, st: &mut Status) {
    let mentioned = |a: &str| {
        let a = a.split('/').next().unwrap_or(a);
        lesson_text.match_indices(a).any(|(i, _)| {
            let next = lesson_text[i + a.len()..].chars().next();
            !next.is_some_and(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        })
    };
    for n in &mut st.nodes {
        for i in &mut n.interfaces {
            i.addresses
                .sort_by_cached_key(|a| (!mentioned(a), !a.contains(':')));
        }
    }
}

impl App {
    /// A digest of what the map panels show (each row's key, label, value, rate and
    /// sparkline from its first non-zero point, each panel's state): a map sample that leaves it unchanged needs no new
    /// frame, so an idle lab's 10 Hz polling costs the reads and no drawing.
    pub(crate) fn panels_digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for p in &self.panels {
            match &p.state {
                PanelState::NotLoaded => 0u8.hash(&mut h),
                PanelState::Error(e) => (1u8, e).hash(&mut h),
                PanelState::Loaded {
                    map_type,
                    per_cpu,
                    rows,
                } => {
                    (2u8, map_type, per_cpu).hash(&mut h);
                    for r in rows {
                        (&r.key, &r.label, &r.value).hash(&mut h);
                        r.rate.map(f64::to_bits).hash(&mut h);
                        // the sparkline pads with zeros: leading zeros do not show
                        for v in r.history.iter().skip_while(|v| **v == 0.0) {
                            v.to_bits().hash(&mut h);
                        }
                    }
                }
            }
        }
        h.finish()
    }

    pub(crate) fn on_maps(&mut self, samples: Vec<Sample>) {
        for s in samples {
            let Some(p) = self.panels.iter_mut().find(|p| p.spec.name == s.name) else {
                continue;
            };
            match s.result {
                Ok(None) => p.state = PanelState::NotLoaded,
                Err(e) => p.state = PanelState::Error(e),
                Ok(Some(d)) => {
                    let mut old = match std::mem::replace(&mut p.state, PanelState::NotLoaded) {
                        PanelState::Loaded { rows, .. } => rows,
                        _ => vec![],
                    };
                    let mut rows = Vec::new();
                    let array = d.map.map_type.contains("array");
                    for r in &d.rows {
                        let key = r.key_shown();
                        let mut row = match old.iter().position(|o| o.key == key) {
                            Some(i) => old.swap_remove(i),
                            None => MapRow {
                                label: p.spec.labels.get(&key).cloned(),
                                key: key.clone(),
                                value: String::new(),
                                num: None,
                                rate: None,
                                history: VecDeque::new(),
                                window: VecDeque::new(),
                            },
                        };
                        row.value = r.value_shown();
                        row.num = r.number();
                        if let Some(v) = row.num {
                            if row.window.back().is_some_and(|(_, last)| v < *last) {
                                // reset or overwritten (a verdict): no rate across it
                                row.window.clear();
                            }
                            row.window.push_back((s.at, v));
                            while row.window.len() > 2
                                && s.at.duration_since(row.window[0].0) > RATE_WINDOW
                            {
                                row.window.pop_front();
                            }
                            let (t0, v0) = row.window[0];
                            let dt = s.at.duration_since(t0).as_secs_f64();
                            row.rate = (dt > 0.05).then(|| (v - v0) as f64 / dt);
                            row.history.push_back(row.rate.unwrap_or(0.0));
                            while row.history.len() > HISTORY {
                                row.history.pop_front();
                            }
                        }
                        // every key of an array exists: of those the lesson does not name,
                        // only the ones that count something (hvm_stats has 16 reasons)
                        if array
                            && !p.spec.labels.is_empty()
                            && row.label.is_none()
                            && row.num == Some(0)
                        {
                            continue;
                        }
                        rows.push(row);
                    }
                    // the keys the lesson names first, then the others, each in key order as
                    // the sample has them (`map dump`'s: integers by value, other keys
                    // bytewise, so fc01::2 before fc01::10; an array's unnamed zeros would
                    // push the named keys out of the panel). A stable sort, and a row keeps
                    // its place when it starts counting (lesson 5's "tx port 0" jumped to
                    // second place while the learner watched the panel); where the pane cuts
                    // a panel, the view shows the rows that count first
                    // (`view::counted_first`: hvm_stats names 6 reasons, and at 80x24 the one
                    // that moves must not be below the panel's last line).
                    rows.sort_by_key(|r| r.label.is_none());
                    p.state = PanelState::Loaded {
                        map_type: d.map.map_type.clone(),
                        per_cpu: d.map.per_cpu(),
                        rows,
                    };
                }
            }
        }
    }
    pub(crate) fn push_trace(&mut self, mut line: TraceLine) {
        // a packet starts where a chain is entered at the least depth seen (the loader's
        // call); deeper entries are chains called by chains
        let t = line.text.trim_start();
        if t.starts_with("chain ") && t.contains(" enter") {
            let indent = line.text.len() - t.len();
            if self.trace_base.is_none_or(|b| indent <= b) {
                self.trace_base = Some(indent);
                line.kind = TraceKind::Packet;
                // the previous packet's last call never returned: a final program, whose
                // verdict ended it
                if let Some(last) = self.trace.back()
                    && last.kind == TraceKind::Call
                    && let Some(prog) = last.text.trim_start().strip_prefix("call ")
                {
                    let prog = prog.split_whitespace().next().unwrap_or("").to_string();
                    let pad = " ".repeat(last.text.len() - last.text.trim_start().len());
                    self.push_line(TraceLine {
                        kind: TraceKind::Verdict,
                        text: format!("{pad}verdict from {prog} (final program)"),
                    });
                }
            } else {
                line.kind = TraceKind::Call;
            }
        }
        self.push_line(line);
    }
    pub(crate) fn push_line(&mut self, line: TraceLine) {
        if line.kind == TraceKind::Packet {
            self.trace_packets += 1;
        }
        self.trace.push_back(line);
        while self.trace.len() > TRACE_MAX {
            self.trace.pop_front();
        }
    }
}
