//! Pictures of the lab's own data, as SVG text: a topology file (nodes, links, interfaces with
//! their MACs and addresses, XDP programs attached when it comes up), a compiled chain (the
//! call sites of a `hike::jit::Plan` and the ways between them) and the path of a packet
//! through a loader, the HIKe VM and a chain's programs to its verdict. The book draws its
//! figures with these at build time, so a figure cannot drift from the file it shows.
//!
//! Pure and deterministic: the same input gives the same bytes (integer coordinates only, no
//! clock, no randomness). Text widths assume a monospace font of `FONT` pixels. The output has
//! no blank line, so it can be inlined in Markdown as one HTML block.

use std::collections::BTreeMap;
use std::fmt::Write;

use hike::jit::{Next, Plan, Way};

use crate::mac::fmt_mac;
use crate::topology::{End, Topology};

/// Font size in pixels, and the advance of one character of the monospace font (tenths of a
/// pixel: DejaVu Sans Mono and most others advance 0.6 em).
const FONT: i32 = 12;
const CHAR_W10: i32 = 72;
/// Line height, padding inside boxes, outer margin.
const LH: i32 = 15;
const PAD: i32 = 8;
const MARGIN: i32 = 16;

fn text_w(s: &str) -> i32 {
    (s.chars().count() as i32 * CHAR_W10 + 9) / 10
}

fn widest(lines: &[String]) -> i32 {
    lines.iter().map(|l| text_w(l)).max().unwrap_or(0)
}

/// The width of a box's lines: the first is a heading (bold, 13 px), the others plain.
fn box_text_w(lines: &[String]) -> i32 {
    let head = lines.first().map(|l| text_w(l) * 13 / 11).unwrap_or(0);
    head.max(widest(lines.get(1..).unwrap_or(&[])))
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Words of `s` in lines of at most `max` characters (a longer word gets a line of its own).
fn wrap(s: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in s.split_whitespace() {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= max => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// An SVG document under construction: one element per line.
struct Svg {
    body: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Anchor {
    Start,
    Middle,
    End,
}

impl Svg {
    fn new() -> Self {
        Svg {
            body: String::new(),
        }
    }

    fn rect(&mut self, x: i32, y: i32, w: i32, h: i32, class: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect class="{class}" x="{x}" y="{y}" width="{w}" height="{h}" rx="5"/>"#
        );
    }

    fn text(&mut self, x: i32, y: i32, anchor: Anchor, class: &str, s: &str) {
        let a = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let _ = writeln!(
            self.body,
            r#"<text class="{class}" x="{x}" y="{y}" text-anchor="{a}">{}</text>"#,
            esc(s)
        );
    }

    /// Lines of text from baseline `y` down.
    fn lines(&mut self, x: i32, y: i32, anchor: Anchor, class: &str, lines: &[String]) {
        for (i, l) in lines.iter().enumerate() {
            self.text(x, y + i as i32 * LH, anchor, class, l);
        }
    }

    /// The figure's heading, top left.
    fn heading(&mut self, s: &str) {
        self.text(MARGIN, MARGIN + FONT, Anchor::Start, "h", s);
    }

    fn path(&mut self, points: &[(i32, i32)], class: &str, arrow: bool) {
        let mut d = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(d, "{}{x},{y}", if i == 0 { "M" } else { " L" });
        }
        let marker = if arrow {
            r#" marker-end="url(#arrow)""#
        } else {
            ""
        };
        let _ = writeln!(self.body, r#"<path class="{class}" d="{d}"{marker}/>"#);
    }

    /// The document: a white background (the figure reads the same in the book's dark
    /// themes), a title for screen readers, the styles and the arrowhead.
    fn finish(self, w: i32, h: i32, title: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="eclat-figure" viewBox="0 0 {w} {h}" width="{w}" height="{h}" style="max-width:100%;height:auto" role="img" aria-label="{}">"#,
            esc(title)
        );
        let _ = writeln!(s, "<title>{}</title>", esc(title));
        s.push_str(concat!(
            "<style>",
            "text{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px;fill:#1d2430}",
            " .h{font-weight:bold;font-size:13px} .dim{fill:#5b6678} .lbl{fill:#6a3d9a;paint-order:stroke;stroke:#ffffff;stroke-width:4px;stroke-linejoin:round}",
            " .node{fill:#eef3fb;stroke:#35507a;stroke-width:1.5} .site{fill:#fff7e6;stroke:#9a6a12;stroke-width:1.5}",
            " .ok{fill:#e8f6ea;stroke:#2f7d3a;stroke-width:1.5} .bad{fill:#fbeaea;stroke:#a33a3a;stroke-width:1.5}",
            " .vm{fill:#f3eefb;stroke:#5d3f94;stroke-width:1.5}",
            " .link{fill:none;stroke:#35507a;stroke-width:2} .edge{fill:none;stroke:#4a4f58;stroke-width:1.2}",
            "</style>\n"
        ));
        s.push_str(concat!(
            r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">"#,
            r##"<path d="M0,0 L10,5 L0,10 z" fill="#4a4f58"/></marker></defs>"##,
            "\n"
        ));
        let _ = writeln!(
            s,
            r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>"##
        );
        s.push_str(&self.body);
        s.push_str("</svg>\n");
        s
    }
}

// ---- topologies -------------------------------------------------------------------------

/// What is written beside one end of a link: interface, XDP program, MAC, addresses.
fn end_lines(e: &End) -> Vec<String> {
    let mut v = vec![e.dev.clone()];
    if let Some(x) = &e.xdp {
        v.push(format!("xdp: {x}"));
    }
    v.push(fmt_mac(&e.mac));
    v.extend(e.addresses.iter().map(|a| a.to_string()));
    v
}

/// The topology `t` drawn: nodes left to right in the file's order, each link between two
/// neighbouring nodes as a line in the gap between them, any other link routed under the
/// nodes; every end labelled with its interface, MAC and addresses.
pub fn topology(t: &Topology) -> String {
    let pos: BTreeMap<&str, usize> = t
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let n = t.nodes.len();

    // node headers: name, wrapped description, forwarding, routes
    let headers: Vec<Vec<String>> = t
        .nodes
        .iter()
        .map(|node| {
            let mut v = vec![node.name.clone()];
            v.extend(wrap(&node.description, 24));
            if node.forwarding {
                v.push("forwarding on".into());
            }
            for r in t.routes.iter().filter(|r| r.node == node.name) {
                let mut s = format!("route {}", r.to);
                if let Some(via) = r.via {
                    let _ = write!(s, " via {via}");
                }
                if let Some(d) = &r.dev {
                    let _ = write!(s, " dev {d}");
                }
                v.push(s);
            }
            v
        })
        .collect();
    let node_w: Vec<i32> = headers
        .iter()
        .map(|h| widest(h).max(120) + 2 * PAD)
        .collect();
    let header_h = headers.iter().map(|h| h.len() as i32).max().unwrap_or(1) * LH + PAD + 4;

    // links: (left end, right end, left index, right index), left index <= right index
    struct L<'a> {
        l: &'a End,
        r: &'a End,
        li: usize,
        ri: usize,
    }
    let links: Vec<L> = t
        .links
        .iter()
        .filter_map(|k| {
            let (ia, ib) = (*pos.get(k.a.node.as_str())?, *pos.get(k.b.node.as_str())?);
            Some(if ia <= ib {
                L {
                    l: &k.a,
                    r: &k.b,
                    li: ia,
                    ri: ib,
                }
            } else {
                L {
                    l: &k.b,
                    r: &k.a,
                    li: ib,
                    ri: ia,
                }
            })
        })
        .collect();
    let lane_h = |k: &L| end_lines(k.l).len().max(end_lines(k.r).len()) as i32 * LH + 2 * PAD;
    let adjacent = |k: &L| k.ri == k.li + 1;

    // the gap after node g: as wide as its widest pair of labels, as tall as its lanes
    let mut gap_w = vec![0i32; n.saturating_sub(1)];
    let mut gap_h = vec![0i32; n.saturating_sub(1)];
    for k in links.iter().filter(|k| adjacent(k)) {
        let w = widest(&end_lines(k.l)) + widest(&end_lines(k.r)) + 4 * PAD + 40;
        gap_w[k.li] = gap_w[k.li].max(w);
        gap_h[k.li] += lane_h(k);
    }
    for g in gap_w.iter_mut() {
        *g = (*g).max(80);
    }
    let title_lines: Vec<String> = std::iter::once(format!("topology {}", t.name))
        .chain(wrap(&t.description, 100))
        .collect();
    let top = MARGIN + title_lines.len() as i32 * LH + PAD;
    let box_h = header_h + gap_h.iter().copied().max().unwrap_or(0).max(LH) + PAD;

    let mut x = vec![MARGIN; n];
    for i in 1..n {
        x[i] = x[i - 1] + node_w[i - 1] + gap_w[i - 1];
    }
    let width = if n == 0 {
        2 * MARGIN + 200
    } else {
        x[n - 1] + node_w[n - 1] + MARGIN
    };

    let mut svg = Svg::new();
    svg.heading(&title_lines[0]);
    svg.lines(
        MARGIN,
        MARGIN + FONT + LH,
        Anchor::Start,
        "dim",
        &title_lines[1..],
    );
    for (i, h) in headers.iter().enumerate() {
        svg.rect(x[i], top, node_w[i], box_h, "node");
        svg.text(x[i] + PAD, top + PAD + FONT, Anchor::Start, "h", &h[0]);
        svg.lines(
            x[i] + PAD,
            top + PAD + FONT + LH,
            Anchor::Start,
            "dim",
            &h[1..],
        );
    }

    // links between neighbours, stacked in their gap
    let mut lane_y = vec![top + header_h; n.saturating_sub(1)];
    for k in links.iter().filter(|k| adjacent(k)) {
        let y = lane_y[k.li];
        lane_y[k.li] += lane_h(k);
        let (x0, x1) = (x[k.li] + node_w[k.li], x[k.ri]);
        let ly = y + PAD + LH / 2;
        svg.path(&[(x0, ly), (x1, ly)], "link", false);
        let (l, r) = (end_lines(k.l), end_lines(k.r));
        svg.lines(x0 + PAD, ly - 4, Anchor::Start, "h", &l[..1]);
        svg.lines(x0 + PAD, ly + LH, Anchor::Start, "dim", &l[1..]);
        svg.lines(x1 - PAD, ly - 4, Anchor::End, "h", &r[..1]);
        svg.lines(x1 - PAD, ly + LH, Anchor::End, "dim", &r[1..]);
    }

    // every other link under the nodes: down, across, up
    let mut y = top + box_h + 2 * PAD;
    for (j, k) in links.iter().filter(|k| !adjacent(k)).enumerate() {
        let off = 20 + 12 * j as i32;
        let xa = x[k.li] + off;
        let xb = x[k.ri] + node_w[k.ri] - off;
        let (l, r) = (end_lines(k.l), end_lines(k.r));
        let rows = l.len().max(r.len()) as i32;
        let ly = y + rows * LH + PAD;
        svg.path(
            &[(xa, top + box_h), (xa, ly), (xb, ly), (xb, top + box_h)],
            "link",
            false,
        );
        svg.lines(xa + PAD, y + FONT, Anchor::Start, "h", &l[..1]);
        svg.lines(xa + PAD, y + FONT + LH, Anchor::Start, "dim", &l[1..]);
        svg.lines(xb - PAD, y + FONT, Anchor::End, "h", &r[..1]);
        svg.lines(xb - PAD, y + FONT + LH, Anchor::End, "dim", &r[1..]);
        y = ly + 2 * PAD;
    }
    let height = y.max(top + box_h + MARGIN);
    svg.finish(
        width,
        height,
        &format!(
            "the {} topology: {} nodes, {} links",
            t.name,
            n,
            links.len()
        ),
    )
}

// ---- compiled chains --------------------------------------------------------------------

/// Names a compiled-chain figure prints: programs by ID, abort reasons, XDP actions.
pub struct ChainNames<'a> {
    pub chain: &'a str,
    pub prog: &'a dyn Fn(u32) -> String,
    pub reason: &'a dyn Fn(u32) -> String,
    /// does the program end the packet with a verdict of its own (`l2_redirect`)? Nothing of
    /// the chain runs after its call, so its ways are not drawn
    pub is_final: &'a dyn Fn(u32) -> bool,
}

/// The XDP action's name (`XDP_DROP`), or `action N` for a value no XDP action has.
pub fn action_name(a: u32) -> String {
    match hike::XdpAction::from_u32(a) {
        Some(x) => format!("XDP_{}", x.name()),
        None => format!("action {a}"),
    }
}

fn moves_text(w: &Way) -> String {
    w.moves
        .iter()
        .map(|(r, v)| format!("r{r} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// (layer, index in the layer) of a box of the chain figure.
type At = (usize, usize);

#[derive(Clone)]
enum Box_ {
    Start,
    Site(usize),
    End(Next),
}

/// The compiled form of a chain: its call sites (the program, where its result goes), the
/// constants moved before each call, the test after a call that picks one of two ways, and
/// where each path ends (a folded verdict program's XDP action, or an abort). Laid out top
/// down by the longest path from the start.
pub fn chain(plan: &Plan, names: &ChainNames<'_>) -> String {
    // layers: the start at 0, a site one below the deepest way into it, ends below their site
    let mut depth = vec![0usize; plan.sites.len()];
    let mut order: Vec<usize> = Vec::new();
    fn visit(
        w: &Way,
        d: usize,
        plan: &Plan,
        depth: &mut Vec<usize>,
        order: &mut Vec<usize>,
        seen: &mut Vec<bool>,
    ) {
        if let Next::Call { site } = w.next {
            if site >= plan.sites.len() {
                return;
            }
            if !seen[site] {
                seen[site] = true;
                order.push(site);
            }
            if depth[site] < d {
                depth[site] = depth[site].max(d);
                let c = &plan.sites[site].cont;
                visit(&c.ways.0, depth[site] + 1, plan, depth, order, seen);
                if let Some(t) = &c.ways.1 {
                    visit(t, depth[site] + 1, plan, depth, order, seen);
                }
            }
        }
    }
    let mut seen = vec![false; plan.sites.len()];
    visit(&plan.entry, 1, plan, &mut depth, &mut order, &mut seen);

    // boxes per layer, in the order the ways first reach them
    let mut layers: Vec<Vec<Box_>> = vec![vec![Box_::Start]];
    let place = |b: Box_, d: usize, layers: &mut Vec<Vec<Box_>>| -> (usize, usize) {
        while layers.len() <= d {
            layers.push(Vec::new());
        }
        layers[d].push(b);
        (d, layers[d].len() - 1)
    };
    let mut site_at: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for &s in &order {
        let at = place(Box_::Site(s), depth[s], &mut layers);
        site_at.insert(s, at);
    }
    // edges: (from, to, label)
    let mut edges: Vec<(At, At, String)> = Vec::new();
    let add_way = |from: (usize, usize),
                   w: &Way,
                   cond: Option<String>,
                   layers: &mut Vec<Vec<Box_>>,
                   edges: &mut Vec<_>| {
        let mut label: Vec<String> = cond.into_iter().collect();
        let m = moves_text(w);
        if !m.is_empty() {
            label.push(m);
        }
        let to = match &w.next {
            Next::Call { site } => match site_at.get(site) {
                Some(&at) => at,
                None => return,
            },
            other => place(Box_::End(other.clone()), from.0 + 1, layers),
        };
        edges.push((from, to, label.join(": ")));
    };
    add_way((0, 0), &plan.entry, None, &mut layers, &mut edges);
    for &s in &order {
        let from = site_at[&s];
        if (names.is_final)(plan.sites[s].prog) {
            continue;
        }
        let c = &plan.sites[s].cont;
        let (c0, c1) = match c.test {
            Some((op, r, v)) => {
                let (yes, no) = if op == hike::insn::op::JEQ {
                    ("==", "!=")
                } else {
                    ("!=", "==")
                };
                (
                    Some(format!("if r{r} {no} {v}")),
                    Some(format!("if r{r} {yes} {v}")),
                )
            }
            None => (None, None),
        };
        add_way(from, &c.ways.0, c0, &mut layers, &mut edges);
        if let Some(t) = &c.ways.1 {
            add_way(from, t, c1, &mut layers, &mut edges);
        }
    }

    // each layer ordered by where its boxes' predecessors stand (their mean column, as a
    // fraction of their layer's width): fewer edges cross
    let mut slot: Vec<Vec<usize>> = layers.iter().map(|l| (0..l.len()).collect()).collect();
    for d in 1..layers.len() {
        let mut keys: Vec<(i64, usize)> = (0..layers[d].len())
            .map(|i| {
                let preds: Vec<i64> = edges
                    .iter()
                    .filter(|(_, to, _)| *to == (d, i))
                    .map(|(from, _, _)| {
                        let len = layers[from.0].len() as i64;
                        (slot[from.0][from.1] as i64 * 2 + 1) * 1000 / (2 * len)
                    })
                    .collect();
                let k = match preds.len() {
                    0 => i64::MAX,
                    n => preds.iter().sum::<i64>() / n as i64,
                };
                (k, i)
            })
            .collect();
        keys.sort();
        for (col, (_, i)) in keys.into_iter().enumerate() {
            slot[d][i] = col;
        }
    }

    // the text of each box
    let box_lines = |b: &Box_| -> (Vec<String>, &'static str) {
        match b {
            Box_::Start => (
                vec![
                    format!("chain {}", names.chain),
                    format!("ID {:#x}", plan.chain_id),
                ],
                "vm",
            ),
            Box_::Site(s) => {
                let site = &plan.sites[*s];
                let mut v = vec![format!("call {}", (names.prog)(site.prog))];
                if (names.is_final)(site.prog) {
                    v.push(format!("pc {}, its verdict ends the packet", site.pc));
                    return (v, "ok");
                }
                v.push(match site.cont.save {
                    Some(r) => format!("pc {}, result to r{r}", site.pc),
                    None => format!("pc {}", site.pc),
                });
                (v, "site")
            }
            Box_::End(Next::Verdict { prog, action }) => (
                vec![action_name(*action), format!("by {}", (names.prog)(*prog))],
                if *action == 2 || *action == 3 || *action == 4 {
                    "ok"
                } else {
                    "bad"
                },
            ),
            Box_::End(Next::Abort { reason }) => (
                vec!["abort: XDP_ABORTED".into(), (names.reason)(*reason)],
                "bad",
            ),
            Box_::End(Next::Call { .. }) => (vec![], "site"),
        }
    };
    let bw = layers
        .iter()
        .flatten()
        .map(|b| box_text_w(&box_lines(b).0))
        .max()
        .unwrap_or(0)
        .max(140)
        + 2 * PAD;
    let bh = 2 * LH + 2 * PAD;
    let col = bw + 40;
    let row = bh + 56;
    let cols = layers.iter().map(|l| l.len()).max().unwrap_or(1) as i32;
    let width = 2 * MARGIN + cols * col - 40;
    let top = MARGIN + LH + PAD;
    // each layer centred
    let at = |(d, i): (usize, usize)| -> (i32, i32) {
        let k = layers[d].len() as i32;
        let x0 = (width - (k * col - 40)) / 2;
        (x0 + slot[d][i] as i32 * col, top + d as i32 * row)
    };
    let height = top + layers.len() as i32 * row - 56 + MARGIN;

    let mut svg = Svg::new();
    svg.heading(&format!(
        "chain {} compiled: {} call sites, at most {} program calls per packet",
        names.chain,
        plan.sites.len(),
        plan.max_calls
    ));
    // edges, then boxes over them, then the edges' labels over both
    let mut labels = Vec::new();
    for (from, to, label) in &edges {
        let (fx, fy) = at(*from);
        let (tx, ty) = at(*to);
        let (x0, y0, x1, y1) = (fx + bw / 2, fy + bh, tx + bw / 2, ty);
        svg.path(&[(x0, y0), (x1, y1)], "edge", true);
        if !label.is_empty() {
            // in the gap below the source box (the middle of an edge to the next layer), on
            // the side the edge leans to: edges that leave one box have parted there, edges
            // into one box have not met yet, and an edge that skips a layer is labelled
            // before it passes that layer's boxes
            let gap = (row - bh) / 2;
            let (lx, ly) = (x0 + (x1 - x0) * gap / (y1 - y0).max(1), y0 + gap + 4);
            labels.push(if x1 < x0 {
                (lx - 6, ly, Anchor::End, label)
            } else {
                (lx + 6, ly, Anchor::Start, label)
            });
        }
    }
    for (d, layer) in layers.iter().enumerate() {
        for (i, b) in layer.iter().enumerate() {
            let (x, y) = at((d, i));
            let (lines, class) = box_lines(b);
            svg.rect(x, y, bw, bh, class);
            svg.text(x + bw / 2, y + PAD + FONT, Anchor::Middle, "h", &lines[0]);
            svg.lines(
                x + bw / 2,
                y + PAD + FONT + LH,
                Anchor::Middle,
                "dim",
                &lines[1..],
            );
        }
    }
    for (x, y, anchor, label) in labels {
        svg.text(x, y, anchor, "lbl", label);
    }
    svg.finish(
        width,
        height,
        &format!("the compiled form of chain {}", names.chain),
    )
}

// ---- the packet path --------------------------------------------------------------------

/// What a packet meets on its way through HIKe, for [`packet_path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketPath {
    /// where the loader is attached, e.g. `sut:enp6s0f0 (xdp)`
    pub hook: String,
    /// the loader program, e.g. `ip6_simple_classifier`
    pub loader: String,
    /// its map entries, e.g. `key (0) -> chain mitigate`
    pub entries: Vec<String>,
    /// the chain the packet runs, e.g. `mitigate`
    pub chain: String,
    /// the programs the chain calls
    pub programs: Vec<String>,
    /// how a packet can leave: `XDP_DROP (hike_drop)`, ...
    pub verdicts: Vec<String>,
}

/// The packet path as five columns joined by arrows: the XDP hook, the loader and its map,
/// the HIKe VM running the chain, the chain's programs, the verdicts. The VM's own rule is
/// drawn with it (drop by default): a chain that ends without a final program aborts the
/// packet (`XDP_ABORTED`, which drops it).
pub fn packet_path(p: &PacketPath) -> String {
    let vm = vec![
        "HIKe VM".to_string(),
        format!("runs chain {}", p.chain),
        format!("{} chain frames per CPU,", hike::MAX_FRAMES),
        format!("<= {} program calls by ID", hike::MAX_PROGRAM_CALLS),
        "no verdict: XDP_ABORTED".into(),
    ];
    let mut loader = vec![format!("loader {}", p.loader)];
    loader.extend(p.entries.iter().cloned());
    let cols: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "packet".into(),
                "XDP hook".into(),
                p.hook.clone(),
                "(driver's receive path)".into(),
            ],
            "node",
        ),
        (loader, "node"),
        (vm, "vm"),
    ];
    let prog_lines: Vec<String> = p.programs.clone();
    let verdict_lines: Vec<String> = p.verdicts.clone();
    let col_w = |lines: &[String]| widest(lines).max(110) + 2 * PAD;
    let mut x = MARGIN;
    let top = MARGIN + LH + PAD;
    let box_h = |n: usize| n as i32 * LH + 2 * PAD;
    let list_h = |v: &[String]| v.len() as i32 * (LH + 2 * PAD + 6) - 6;
    let tallest = cols
        .iter()
        .map(|(l, _)| box_h(l.len()))
        .chain([
            list_h(&prog_lines) + LH + 6,
            list_h(&verdict_lines) + LH + 6,
        ])
        .max()
        .unwrap_or(0);
    let mid = top + tallest / 2;
    let mut svg = Svg::new();
    svg.heading(&format!(
        "a packet's path through HIKe: loader {} -> chain {} -> verdict",
        p.loader, p.chain
    ));
    let mut prev_right: Option<i32> = None;
    for (lines, class) in &cols {
        let w = col_w(lines);
        let h = box_h(lines.len());
        let y = mid - h / 2;
        if let Some(r) = prev_right {
            svg.path(&[(r, mid), (x, mid)], "edge", true);
        }
        svg.rect(x, y, w, h, class);
        svg.text(x + PAD, y + PAD + FONT, Anchor::Start, "h", &lines[0]);
        svg.lines(
            x + PAD,
            y + PAD + FONT + LH,
            Anchor::Start,
            "dim",
            &lines[1..],
        );
        prev_right = Some(x + w);
        x += w + 50;
    }
    // two stacks of small boxes: the programs, then the verdicts
    let stacks: [(&str, &[String], &str); 2] = [
        ("programs called", &prog_lines, "site"),
        ("verdicts", &verdict_lines, "ok"),
    ];
    for (title, items, class) in stacks {
        let w = col_w(items);
        let h = list_h(items) + LH + 6;
        let y0 = mid - h / 2;
        if let Some(r) = prev_right {
            svg.path(&[(r, mid), (x, mid)], "edge", true);
        }
        svg.text(x, y0 + FONT, Anchor::Start, "h", title);
        for (i, item) in items.iter().enumerate() {
            let y = y0 + LH + 6 + i as i32 * (LH + 2 * PAD + 6);
            let c = if class == "ok" && item.starts_with("XDP_DROP") {
                "bad"
            } else {
                class
            };
            svg.rect(x, y, w, LH + 2 * PAD, c);
            svg.text(x + PAD, y + PAD + FONT, Anchor::Start, "", item);
        }
        prev_right = Some(x + w);
        x += w + 50;
    }
    let width = x - 50 + MARGIN;
    let height = top + tallest + MARGIN;
    svg.finish(
        width,
        height,
        &format!(
            "the path of a packet through loader {} and chain {}",
            p.loader, p.chain
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::parse;
    use hike::jit::{Cont, Site};

    /// Every element of `svg` opens and closes in order, and the document is one <svg>.
    fn well_formed(svg: &str) {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(
            !svg.contains("\n\n"),
            "a blank line would end the HTML block"
        );
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let j = rest[i..].find('>').expect("tag closes") + i;
            let tag = &rest[i + 1..j];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "closing {name}");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap().to_string();
                stack.push(name);
            }
            rest = &rest[j + 1..];
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text ")
            .skip(1)
            .map(|t| {
                let s = &t[t.find('>').unwrap() + 1..];
                s[..s.find("</text>").unwrap()].to_string()
            })
            .collect()
    }

    /// (x, y, w, h) of every <rect class="CLASS">.
    fn rects(svg: &str, class: &str) -> Vec<(i32, i32, i32, i32)> {
        let num = |t: &str, attr: &str| -> i32 {
            let k = format!(" {attr}=\"");
            let s = &t[t.find(&k).unwrap() + k.len()..];
            s[..s.find('"').unwrap()].parse().unwrap()
        };
        svg.lines()
            .filter(|l| l.starts_with(&format!("<rect class=\"{class}\"")))
            .map(|l| (num(l, "x"), num(l, "y"), num(l, "width"), num(l, "height")))
            .collect()
    }

    const HIKE_LAB: &str = include_str!("../../../../netns/hike-lab.toml");

    #[test]
    fn hike_lab_shows_every_node_interface_mac_and_address() {
        let t = parse(HIKE_LAB, "hike-lab.toml").unwrap();
        let svg = topology(&t);
        well_formed(&svg);
        let shown = texts(&svg);
        for node in &t.nodes {
            assert!(shown.contains(&node.name), "node {}", node.name);
        }
        for l in &t.links {
            for e in [&l.a, &l.b] {
                for s in end_lines(e) {
                    assert!(shown.contains(&s), "{s} of {}:{}", e.node, e.dev);
                }
            }
        }
        assert!(shown.contains(&"xdp: xdp_pass".to_string()));
        assert_eq!(rects(&svg, "node").len(), 3);
        // the two tg-sut links and the sut-clt link are horizontal lines between boxes
        assert_eq!(svg.matches(r#"<path class="link""#).count(), 3);
    }

    #[test]
    fn boxes_do_not_overlap_and_labels_fit_their_gap() {
        let t = parse(HIKE_LAB, "hike-lab.toml").unwrap();
        let svg = topology(&t);
        let r = rects(&svg, "node");
        for w in r.windows(2) {
            let ((x0, _, w0, _), (x1, _, _, _)) = (w[0], w[1]);
            // the widest label pair of the gap fits between the boxes
            assert!(x1 - (x0 + w0) >= 80, "{w:?}");
        }
        // the width covers the last box
        let (x, _, w, _) = *r.last().unwrap();
        assert!(svg.contains(&format!("viewBox=\"0 0 {} ", x + w + MARGIN)));
    }

    #[test]
    fn same_input_same_bytes_and_text_is_escaped() {
        let src = HIKE_LAB.replace("traffic generator", "traffic <generator> & 'friends'");
        let t = parse(&src, "x.toml").unwrap();
        let a = topology(&t);
        assert_eq!(a, topology(&t));
        assert!(a.contains("traffic &lt;generator&gt; &amp;"));
        assert!(!a.contains("<generator>"));
        well_formed(&a);
    }

    #[test]
    fn a_link_between_distant_nodes_goes_under_the_boxes() {
        let src = r#"
name = "tri"
[[node]]
name = "a"
[[node]]
name = "b"
[[node]]
name = "c"
[[link]]
a = { node = "a", dev = "ab", mac = "02:00:00:00:00:01" }
b = { node = "b", dev = "ba", mac = "02:00:00:00:00:02" }
[[link]]
a = { node = "c", dev = "ca", mac = "02:00:00:00:00:03", addresses = ["10.0.0.3/24"] }
b = { node = "a", dev = "ac", mac = "02:00:00:00:00:04", addresses = ["10.0.0.1/24"] }
"#;
        let t = parse(src, "tri.toml").unwrap();
        let svg = topology(&t);
        well_formed(&svg);
        let boxes = rects(&svg, "node");
        let bottom = boxes[0].1 + boxes[0].3;
        // the a-c link: a path of four points that goes below the boxes
        let under = svg
            .lines()
            .filter(|l| l.starts_with(r#"<path class="link""#))
            .find(|l| l.matches(" L").count() == 3)
            .expect("a routed link");
        let ys: Vec<i32> = under
            .split(['M', 'L', '"'])
            .filter_map(|p| p.trim().split_once(','))
            .filter_map(|(_, y)| y.trim().parse().ok())
            .collect();
        assert!(ys.iter().any(|&y| y > bottom), "{under}");
        // the routed link's labels are drawn too
        assert!(texts(&svg).contains(&"10.0.0.3/24".to_string()));
    }

    fn plan() -> Plan {
        // call 1 (result to r6); if r6 == 0 call 2 then verdict DROP by 9, else verdict PASS by 8
        let way = |moves: Vec<(u8, i64)>, next| Way { moves, next };
        Plan {
            chain_id: hike::FIRST_CHAIN_ID,
            entry: way(vec![(1, 0)], Next::Call { site: 0 }),
            sites: vec![
                Site {
                    pc: 1,
                    prog: 1,
                    cont: Cont {
                        save: Some(6),
                        test: Some((hike::insn::op::JEQ, 6, 0)),
                        ways: (
                            way(vec![], Next::Verdict { prog: 8, action: 2 }),
                            Some(way(vec![(1, 3)], Next::Call { site: 1 })),
                        ),
                    },
                },
                Site {
                    pc: 5,
                    prog: 2,
                    cont: Cont {
                        save: None,
                        test: None,
                        ways: (way(vec![], Next::Verdict { prog: 9, action: 1 }), None),
                    },
                },
            ],
            max_calls: 3,
        }
    }

    fn names() -> (impl Fn(u32) -> String, impl Fn(u32) -> String) {
        (
            |id: u32| match id {
                1 => "hike_default.ip6_hset_srcdst".to_string(),
                2 => "hike_default.monitor".into(),
                8 => "hike_default.hike_pass".into(),
                9 => "hike_default.hike_drop".into(),
                _ => format!("program {id}"),
            },
            |r: u32| format!("reason {r}"),
        )
    }

    #[test]
    fn a_chain_shows_its_calls_tests_moves_and_verdicts() {
        let (prog, reason) = names();
        let n = ChainNames {
            chain: "mitigate",
            prog: &prog,
            reason: &reason,
            is_final: &|_| false,
        };
        let svg = chain(&plan(), &n);
        well_formed(&svg);
        let shown = texts(&svg);
        for s in [
            "chain mitigate",
            "call hike_default.ip6_hset_srcdst",
            "pc 1, result to r6",
            "call hike_default.monitor",
            "XDP_PASS",
            "by hike_default.hike_pass",
            "XDP_DROP",
            "by hike_default.hike_drop",
            "r1 = 0",
            "if r6 != 0",
            "if r6 == 0: r1 = 3",
        ] {
            assert!(shown.iter().any(|t| t == s), "missing {s:?} in {shown:?}");
        }
        // start, 2 sites, 2 verdicts; 4 edges with arrowheads
        assert_eq!(rects(&svg, "site").len(), 2);
        assert_eq!(rects(&svg, "ok").len() + rects(&svg, "bad").len(), 2);
        assert_eq!(svg.matches("marker-end").count(), 4);
        // the monitor call sits below the call it follows
        let sites = rects(&svg, "site");
        assert!(sites[1].1 > sites[0].1);
    }

    #[test]
    fn nothing_is_drawn_after_a_program_with_its_own_verdict() {
        let (prog, reason) = names();
        // monitor (ID 2) taken for a final program: its way to hike_drop is never taken
        let svg = chain(
            &plan(),
            &ChainNames {
                chain: "c",
                prog: &prog,
                reason: &reason,
                is_final: &|id| id == 2,
            },
        );
        well_formed(&svg);
        let shown = texts(&svg);
        assert!(shown.contains(&"pc 5, its verdict ends the packet".to_string()));
        assert!(!shown.contains(&"by hike_default.hike_drop".to_string()));
        assert_eq!(svg.matches("marker-end").count(), 3);
    }

    #[test]
    fn a_way_to_a_missing_site_is_left_out_not_a_panic() {
        let mut p = plan();
        p.sites[0].cont.ways.1 = Some(Way {
            moves: vec![],
            next: Next::Call { site: 7 },
        });
        let (prog, reason) = names();
        let svg = chain(
            &p,
            &ChainNames {
                chain: "c",
                prog: &prog,
                reason: &reason,
                is_final: &|_| false,
            },
        );
        well_formed(&svg);
        assert_eq!(rects(&svg, "site").len(), 1);
    }

    #[test]
    fn the_packet_path_runs_from_hook_to_verdicts() {
        let p = PacketPath {
            hook: "sut:enp6s0f0 (xdp)".into(),
            loader: "ip6_simple_classifier".into(),
            entries: vec!["key (0) -> chain mitigate".into()],
            chain: "mitigate".into(),
            programs: vec!["monitor".into(), "l2_redirect".into()],
            verdicts: vec!["XDP_PASS (hike_pass)".into(), "XDP_DROP (hike_drop)".into()],
        };
        let svg = packet_path(&p);
        well_formed(&svg);
        let shown = texts(&svg);
        for s in [
            "sut:enp6s0f0 (xdp)",
            "loader ip6_simple_classifier",
            "key (0) -&gt; chain mitigate",
            "runs chain mitigate",
            "no verdict: XDP_ABORTED",
            "l2_redirect",
            "XDP_DROP (hike_drop)",
        ] {
            assert!(shown.iter().any(|t| t == s), "missing {s:?} in {shown:?}");
        }
        // hook -> loader -> VM -> programs -> verdicts: four arrows, left to right
        assert_eq!(svg.matches("marker-end").count(), 4);
        assert_eq!(rects(&svg, "bad").len(), 1);
    }
}

// ---- cubes ------------------------------------------------------------------------------

/// A cube in the graph of what is wired (`cube graph`): its name and a few lines beside it
/// (the program, counters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphCube {
    pub name: String,
    pub lines: Vec<String>,
}

/// An edge of the graph: an interface into a cube (`port` None, `from` = `node:dev`) or a
/// cube's output port into another cube.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEdge {
    pub from: String,
    pub port: Option<u32>,
    pub to: String,
}

/// The network functions wired in the lab and the edges between them, as the control plane
/// keeps them (InKeV's graph); the kernel holds the same thing as program array slots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CubeGraph {
    pub cubes: Vec<GraphCube>,
    pub edges: Vec<GraphEdge>,
}

impl CubeGraph {
    /// The interfaces that lead into the graph (`node:dev`), sorted.
    pub fn interfaces(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .edges
            .iter()
            .filter(|e| e.port.is_none())
            .map(|e| e.from.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Each cube's column: 1 + the longest way to it from an interface (0 for interfaces),
    /// a cube no way reaches in column 1; a cycle does not make it grow past the number of
    /// cubes.
    pub fn columns(&self) -> BTreeMap<String, usize> {
        let mut col: BTreeMap<String, usize> =
            self.interfaces().into_iter().map(|i| (i, 0)).collect();
        for c in &self.cubes {
            col.insert(c.name.clone(), 1);
        }
        for _ in 0..self.cubes.len() {
            let mut changed = false;
            for e in &self.edges {
                let (Some(&a), Some(&b)) = (col.get(&e.from), col.get(&e.to)) else {
                    continue;
                };
                if b < a + 1 && a < self.cubes.len() {
                    col.insert(e.to.clone(), a + 1);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        col
    }
}

/// The graph drawn left to right: interfaces in the first column, each cube in the column of
/// its longest way from an interface, edges as arrows labelled with the port.
pub fn cube_graph(g: &CubeGraph) -> String {
    const GAP: i32 = 70;
    let cols = g.columns();
    let ncols = cols.values().copied().max().unwrap_or(0) + 1;
    // each box: its lines and size
    let mut boxes: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
    for i in g.interfaces() {
        boxes.insert(i.clone(), (vec![i.clone(), "interface".into()], false));
    }
    for c in &g.cubes {
        let mut lines = vec![c.name.clone()];
        lines.extend(c.lines.iter().cloned());
        boxes.insert(c.name.clone(), (lines, true));
    }
    let mut col_items: Vec<Vec<String>> = vec![Vec::new(); ncols];
    for (name, c) in &cols {
        if boxes.contains_key(name) {
            col_items[*c].push(name.clone());
        }
    }
    let size = |lines: &[String]| {
        (
            box_text_w(lines) + 2 * PAD,
            lines.len() as i32 * LH + 2 * PAD - 3,
        )
    };
    let col_w: Vec<i32> = col_items
        .iter()
        .map(|items| items.iter().map(|n| size(&boxes[n].0).0).max().unwrap_or(0))
        .collect();
    let mut pos: BTreeMap<String, (i32, i32, i32, i32)> = BTreeMap::new();
    let top = MARGIN + FONT + 16;
    let mut x = MARGIN;
    let mut height = top;
    for (ci, items) in col_items.iter().enumerate() {
        let mut y = top;
        for n in items {
            let (w, h) = size(&boxes[n].0);
            pos.insert(n.clone(), (x, y, w, h));
            y += h + 24;
        }
        height = height.max(y);
        x += col_w[ci] + GAP;
    }
    let width = (x - GAP + MARGIN).max(MARGIN * 2 + text_w("what is wired") * 2);
    let mut svg = Svg::new();
    svg.heading(if g.cubes.is_empty() {
        "no cubes: `cube add NAME SOURCE`"
    } else {
        "what is wired: interfaces and cubes, edges are program array slots"
    });
    for (n, (lines, cube)) in &boxes {
        let Some(&(x, y, w, h)) = pos.get(n) else {
            continue;
        };
        svg.rect(x, y, w, h, if *cube { "node" } else { "vm" });
        svg.text(x + PAD, y + PAD + FONT - 2, Anchor::Start, "h", &lines[0]);
        svg.lines(
            x + PAD,
            y + PAD + FONT - 2 + LH,
            Anchor::Start,
            "dim",
            &lines[1..],
        );
    }
    // an edge to the next column goes straight across the gap; any other (a column skipped,
    // or back) runs in a lane of its own below the boxes, so it never crosses a box
    let mut lane = height + 4;
    for e in &g.edges {
        let (Some(&(ax, ay, aw, ah)), Some(&(bx, by, _bw, bh))) =
            (pos.get(&e.from), pos.get(&e.to))
        else {
            continue;
        };
        let (x1, y1) = (ax + aw, ay + ah / 2);
        let (x2, y2) = (bx, by + bh / 2);
        let next_column = cols.get(&e.to).copied() == cols.get(&e.from).map(|c| c + 1);
        if next_column {
            let mid = x1 + (x2 - x1) / 2;
            svg.path(&[(x1, y1), (mid, y1), (mid, y2), (x2, y2)], "edge", true);
            if let Some(p) = e.port {
                svg.text(
                    mid,
                    y1.min(y2) - 4,
                    Anchor::Middle,
                    "lbl",
                    &format!("port {p}"),
                );
            }
        } else {
            lane += 14;
            svg.path(
                &[
                    (x1, y1),
                    (x1 + 10, y1),
                    (x1 + 10, lane),
                    (x2 - 10, lane),
                    (x2 - 10, y2),
                    (x2, y2),
                ],
                "edge",
                true,
            );
            if let Some(p) = e.port {
                svg.text(
                    x1 + 14,
                    lane - 4,
                    Anchor::Start,
                    "lbl",
                    &format!("port {p}"),
                );
            }
        }
    }
    height = height.max(lane + 4);
    svg.finish(
        width,
        height + MARGIN,
        "the lab's cubes and how they are wired",
    )
}

#[cfg(test)]
mod cube_tests {
    use super::*;

    fn edge(from: &str, port: Option<u32>, to: &str) -> GraphEdge {
        GraphEdge {
            from: from.into(),
            port,
            to: to.into(),
        }
    }

    fn cube(n: &str) -> GraphCube {
        GraphCube {
            name: n.into(),
            lines: vec!["rx 3".into()],
        }
    }

    #[test]
    fn columns_follow_the_longest_way_from_an_interface() {
        let g = CubeGraph {
            cubes: vec![cube("cls"), cube("fw"), cube("mon"), cube("spare")],
            edges: vec![
                edge("sut:enp6s0f0", None, "cls"),
                edge("cls", Some(0), "fw"),
                edge("fw", Some(0), "mon"),
                edge("cls", Some(1), "mon"),
            ],
        };
        let c = g.columns();
        assert_eq!(c["sut:enp6s0f0"], 0);
        assert_eq!((c["cls"], c["fw"], c["mon"], c["spare"]), (1, 2, 3, 1));
        let svg = cube_graph(&g);
        assert!(svg.contains(">port 1<") && svg.contains(">fw<"), "{svg}");
        // cls:1 -> mon skips fw's column: it runs in a lane below every box, not through fw
        let num = |l: &str, k: &str| -> i32 {
            let v = l.split(&format!(" {k}=\"")).nth(1).unwrap();
            v[..v.find('"').unwrap()].parse().unwrap()
        };
        let bottom = svg
            .lines()
            .filter(|l| l.starts_with("<rect class=\"node\""))
            .map(|l| num(l, "y") + num(l, "height"))
            .max()
            .unwrap();
        let around: Vec<&str> = svg
            .lines()
            .filter(|l| l.starts_with("<path class=\"edge\"") && l.matches(" L").count() == 5)
            .collect();
        assert_eq!(around.len(), 1, "{svg}");
        let lane: i32 = around[0]
            .split(" L")
            .nth(2)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert!(lane > bottom, "lane {lane}, boxes down to {bottom}");
        assert_eq!(svg, cube_graph(&g), "deterministic");
    }

    #[test]
    fn a_cycle_ends_and_still_draws() {
        let g = CubeGraph {
            cubes: vec![cube("a"), cube("b")],
            edges: vec![edge("a", Some(0), "b"), edge("b", Some(0), "a")],
        };
        let c = g.columns();
        assert!(c["a"] <= 2 && c["b"] <= 2, "{c:?}");
        assert!(cube_graph(&g).starts_with("<svg"));
    }
}
