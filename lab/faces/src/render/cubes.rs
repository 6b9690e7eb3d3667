//! The text of the `cube` commands.

use eclat_service::cubes::{
    Connected, CubeAdded, CubeDisconnected, CubeGraphReply, CubeList, CubeRemoved,
};

pub fn add(a: &CubeAdded) -> String {
    let mut s = String::new();
    if let Some(b) = &a.build {
        s.push_str(&format!(
            "compiled {} -> {} in {:.0} ms\n",
            b.source, b.object, b.clang_ms
        ));
        if !b.warnings.trim().is_empty() {
            s.push_str(b.warnings.trim_end());
            s.push('\n');
        }
    }
    s.push_str(&format!(
        "added cube {}: program {} from {}, output ports 0 to {}, nothing connected\n\
         next: `cube connect {}:0 NEXT` wires a port, `cube attach {} NODE DEV` makes it the \
         chain's entry",
        a.name,
        a.program,
        a.source,
        a.ports.saturating_sub(1),
        a.name,
        a.name
    ));
    s
}

pub fn connect(c: &Connected) -> String {
    match &c.replaced {
        Some(old) if *old == c.to => format!(
            "{}:{} -> {} (program ID {}), as it was",
            c.from, c.port, c.to, c.program_id
        ),
        Some(old) => format!(
            "{}:{} -> {} (program ID {}), replacing {old} in one update: every packet went \
             to one or the other",
            c.from, c.port, c.to, c.program_id
        ),
        None => format!(
            "{}:{} -> {} (program ID {})",
            c.from, c.port, c.to, c.program_id
        ),
    }
}

pub fn disconnect(d: &CubeDisconnected) -> String {
    match &d.was {
        Some(w) => format!(
            "{}:{} emptied (it led to {w}): packets sent there are now dropped and counted as \
             misses",
            d.from, d.port
        ),
        None => format!("{}:{} was not connected", d.from, d.port),
    }
}

pub fn del(r: &CubeRemoved) -> String {
    let mut s = format!("removed cube {}: its program and maps are gone", r.name);
    for d in &r.removed.detached {
        s.push_str(&format!("\ndetached {d}"));
    }
    for d in &r.removed.emptied_slots {
        s.push_str(&format!("\nemptied {d}: it held the cube's program"));
    }
    s
}

pub fn show(l: &CubeList) -> String {
    if l.cubes.is_empty() {
        let b: Vec<String> = l
            .builtin
            .iter()
            .map(|(n, about)| format!("  {n:<11} {about}"))
            .collect();
        return format!(
            "no cubes yet: `cube add NAME SOURCE`, SOURCE a built-in cube or your FILE.bpf.c\n{}",
            b.join("\n")
        );
    }
    let mut out = Vec::new();
    for c in &l.cubes {
        let mut s = format!(
            "cube {} ({}, program ID {})",
            c.name, c.program, c.program_id
        );
        if !c.attached.is_empty() {
            s.push_str(&format!(", attached to {}", c.attached.join(", ")));
        }
        s.push_str(&format!(
            "\n  rx {}  pass {}  drop {}  miss {}",
            c.stats.rx, c.stats.pass, c.stats.drop, c.stats.miss
        ));
        let mut free = Vec::new();
        for p in &c.ports {
            match &p.peer {
                Some(peer) => s.push_str(&format!("\n  port {} -> {peer}  tx {}", p.port, p.tx)),
                None if p.tx > 0 => s.push_str(&format!(
                    "\n  port {} -> nothing  tx {} (dropped as misses)",
                    p.port, p.tx
                )),
                None => free.push(p.port.to_string()),
            }
        }
        if !free.is_empty() {
            s.push_str(&format!("\n  free ports: {}", free.join(", ")));
        }
        out.push(s);
    }
    out.join("\n")
}

/// The ways through the graph from each interface (`sut:enp6s0f0 -> cls -0-> fw -0-> mon`),
/// then what no way reaches.
pub fn graph(g: &CubeGraphReply) -> String {
    if g.cubes.is_empty() {
        return "no cubes: `cube add NAME SOURCE`".into();
    }
    fn walk(
        g: &CubeGraphReply,
        at: &str,
        path: String,
        seen: &mut Vec<String>,
        out: &mut Vec<String>,
    ) {
        let next: Vec<_> = g
            .edges
            .iter()
            .filter(|e| e.from == at && e.port.is_some())
            .collect();
        if next.is_empty() || seen.iter().any(|s| s == at) {
            let loop_mark = if seen.iter().any(|s| s == at) {
                " (loop)"
            } else {
                ""
            };
            out.push(format!("{path}{loop_mark}"));
            return;
        }
        seen.push(at.to_string());
        for e in next {
            walk(
                g,
                &e.to,
                format!("{path} -{}-> {}", e.port.unwrap_or(0), e.to),
                seen,
                out,
            );
        }
        seen.pop();
    }
    let mut out = Vec::new();
    let starts: Vec<_> = g.edges.iter().filter(|e| e.port.is_none()).collect();
    for e in &starts {
        walk(
            g,
            &e.to,
            format!("{} -> {}", e.from, e.to),
            &mut Vec::new(),
            &mut out,
        );
    }
    if starts.is_empty() {
        out.push("no cube is attached to an interface: `cube attach NAME NODE DEV`".into());
    }
    if !g.unreachable.is_empty() {
        out.push(format!(
            "not reached by any interface or port: {}",
            g.unreachable.join(", ")
        ));
    }
    if !g.open_ports.is_empty() {
        out.push(format!(
            "ports with nothing connected that packets were sent to: {}",
            g.open_ports.join(", ")
        ));
    }
    out.join("\n")
}
