//! The verifier-log explainer: finds the error in a verifier log, the instruction and the C
//! source line it points at (the kernel prints `; <source> @ file:line` when the object has
//! BTF line info, as `clang -g` gives), classifies it and says what to do. Pure text work.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// a packet read or write not proven to be inside `[data, data_end)`
    PacketOutOfBounds,
    /// a map value pointer used before checking it against NULL
    NullMapValue,
    /// an access outside a map value
    MapValueOutOfBounds,
    /// an access at an offset the verifier cannot bound (an index not checked against a
    /// limit): `R0 unbounded memory access`
    UnboundedAccess,
    /// a loop the verifier cannot prove to end, or too many states
    UnboundedLoop,
    /// more than a million instructions processed
    ProgramTooLarge,
    /// a GPL-only helper called from a program whose license is not GPL-compatible
    GplOnlyHelper,
    /// a register read before anything was written to it
    UninitializedRegister,
    /// stack bytes read before being written (refused to unprivileged loaders only), or
    /// read outside the program's 512-byte stack frame
    UninitializedStack,
    /// a helper this program type may not call
    UnknownHelper,
    /// the program does not set r0 before `exit`
    MissingReturn,
    /// a rejection of another kind: the kernel's message and the instruction say what went wrong
    Other,
}

impl Class {
    /// Every class.
    pub const ALL: [Class; 12] = [
        Class::PacketOutOfBounds,
        Class::NullMapValue,
        Class::MapValueOutOfBounds,
        Class::UnboundedAccess,
        Class::UnboundedLoop,
        Class::ProgramTooLarge,
        Class::GplOnlyHelper,
        Class::UninitializedRegister,
        Class::UninitializedStack,
        Class::UnknownHelper,
        Class::MissingReturn,
        Class::Other,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Class::PacketOutOfBounds => "out-of-bounds packet access",
            Class::NullMapValue => "map value used without a NULL check",
            Class::MapValueOutOfBounds => "invalid map value access",
            Class::UnboundedAccess => "memory access at an unbounded offset",
            Class::UnboundedLoop => "unbounded loop",
            Class::ProgramTooLarge => "program too large (complexity limit)",
            Class::GplOnlyHelper => "GPL-only helper",
            Class::UninitializedRegister => "read of an uninitialised register",
            Class::UninitializedStack => "invalid read from the stack",
            Class::UnknownHelper => "helper not allowed here",
            Class::MissingReturn => "no return value",
            Class::Other => "rejected by the verifier",
        }
    }

    /// What to do, for a plain XDP program.
    pub fn advice(self) -> String {
        self.advice_in(Context::Xdp)
    }

    /// What to do, in the words of the kind of program that was rejected: a HIKe module's
    /// program gives up with `HIKE_XDP_VM` (the chain goes on and decides), a plain XDP
    /// program with a verdict.
    pub fn advice_in(self, ctx: Context) -> String {
        let (give_up, give_up_words) = match ctx {
            Context::Xdp => ("return XDP_PASS;", "return a verdict (`return XDP_PASS;`)"),
            Context::HikeModule => (
                "return HIKE_XDP_VM;",
                "give up the way a HIKe program does: set HVM_RET to a value the chain can \
                 test and `return HIKE_XDP_VM;` (a module never returns XDP_PASS to continue)",
            ),
        };
        match self {
            Class::PacketOutOfBounds => format!(
                "Before touching N bytes at `p`, prove they are inside the packet: \
                `if ((void *)p + N > data_end) {give_up}` The check must come before the \
                access on every path, including debug prints that read packet fields."
            ),
            Class::NullMapValue => format!(
                "bpf_map_lookup_elem() returns NULL when the key is absent: \
                `if (!v) {give_up}` before using `v`."
            ),
            Class::MapValueOutOfBounds => {
                "The offset into the map value is past its end: the value is smaller than what \
                the code reads or writes there. Compare the struct the map holds with the \
                field or index used, and check an index against the array's length \
                (`if (i >= N) ...`) before using it."
                    .into()
            }
            Class::UnboundedAccess => format!(
                "An index or offset comes from data the verifier cannot bound (a packet byte, \
                a map value, a loop counter it lost track of), so it cannot prove the access \
                stays inside the object. Bound it right before the access, on the same \
                variable: `if (i >= N) {give_up}` or mask it (`i &= N - 1` for a power of \
                two). This is not about loops."
            ),
            Class::UnboundedLoop => {
                "The verifier must see that every loop ends: give it a constant bound \
                (`for (i = 0; i < 64 && i < n; i++)`), or use bpf_loop()."
                    .into()
            }
            Class::ProgramTooLarge => {
                "The verifier explored more than a million instructions. Bound loops with small \
                constants, split the work across programs (tail calls, HIKe chains), or use bpf_loop()."
                    .into()
            }
            Class::GplOnlyHelper => {
                "This helper is only for GPL-compatible programs: declare \
                `char LICENSE[] SEC(\"license\") = \"GPL\";` (or \"Dual MIT/GPL\"), or drop the call."
                    .into()
            }
            Class::UninitializedRegister => {
                "A register is read on a path where nothing was written to it: \
                initialise the variable on every path."
                    .into()
            }
            Class::UninitializedStack => {
                "A read from the stack the verifier refuses: outside the program's 512-byte \
                frame (a local array or struct too big, an offset past it: keep locals small, \
                put big buffers in a per-CPU array map), or, for a loader without root, bytes \
                not written yet (initialise the variable, `= {}`, on every path)."
                    .into()
            }
            Class::UnknownHelper => match ctx {
                Context::Xdp => "This helper does not exist for XDP programs or for this kernel: \
                    bpf-helpers(7) lists the program types that may call each helper."
                    .into(),
                Context::HikeModule => "This helper does not exist for XDP programs (a HIKe \
                    program is one) or for this kernel: bpf-helpers(7) lists the program \
                    types that may call each helper."
                    .into(),
            },
            Class::MissingReturn => format!("Every path must end with a return: {give_up_words}."),
            Class::Other => {
                "Read the line the verifier stopped at and the register states printed before it."
                    .into()
            }
        }
    }
}

/// The kind of program a log is about: the advice is written in its terms.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Context {
    /// a plain XDP program (or a HIKe loader): it ends with an XDP verdict
    #[default]
    Xdp,
    /// a program of a HIKe module: it continues the chain with `HIKE_XDP_VM`
    HikeModule,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceLine {
    /// the C source line as the verifier log quotes it (from the object's BTF line info, so only
    /// with `clang -g`)
    pub text: String,
    /// the source file the line is in, as the compiler recorded its path
    pub file: String,
    /// the 1-based line number in that file
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Explanation {
    /// which kind of rejection this is (kebab-case, e.g. `packet-out-of-bounds`), found from the
    /// kernel's message; `other` when no known kind fits
    pub class: Class,
    /// the kernel's own words
    pub message: String,
    /// the program the verifier rejected (its function's name); null when the log was
    /// explained without knowing it
    #[serde(default)]
    pub program: Option<String>,
    /// the instruction the verifier stopped at (as printed)
    pub insn: Option<String>,
    /// the index of that instruction in the program (the number before `:` in `insn`); null
    /// when the log names no instruction
    #[serde(default)]
    pub insn_index: Option<u32>,
    /// the verifier's final error line: the last line of `message` (the line just before the
    /// log's statistics)
    #[serde(default)]
    pub error_line: Option<String>,
    /// the C line the verifier stopped at; null when the log has no source annotations (the object
    /// was built without `-g`) or none precedes the error
    pub source: Option<SourceLine>,
    /// `processed N insns`
    pub processed: Option<u64>,
    /// the kind of program: plain XDP or a HIKe module's
    #[serde(default)]
    pub context: Context,
    /// what to do, in the terms of that kind of program
    pub advice: String,
}

impl Explanation {
    /// A few lines for a learner: what, where, what to do.
    pub fn render(&self) -> String {
        let mut s = format!("verifier: {}\n", self.class.title());
        if let Some(src) = &self.source {
            s.push_str(&format!(
                "  at {}:{}: {}\n",
                src.file,
                src.line,
                src.text.trim()
            ));
        }
        if let Some(i) = &self.insn {
            s.push_str(&format!("  instruction {}\n", i.trim()));
        }
        s.push_str(&format!("  the kernel said: {}\n", self.message));
        s.push_str(&format!("  what to do: {}", self.advice));
        s
    }
}

fn classify(msg: &str) -> Class {
    let m = msg;
    if m.contains("invalid access to packet") || m.contains("outside of the packet") {
        Class::PacketOutOfBounds
    } else if m.contains("_or_null") {
        Class::NullMapValue
    } else if m.contains("unbounded memory access")
        || m.contains("unbounded min value")
        || m.contains("min value is negative")
        || m.contains("unbounded variable-offset")
    {
        // an offset it cannot bound: `R0 unbounded memory access`, or pointer arithmetic
        // with an unbounded register; must come before the loop tests (`unbounded`)
        Class::UnboundedAccess
    } else if m.contains("invalid access to map value")
        || m.contains("value is outside of the allowed memory range")
        || m.contains("map_value") && m.contains("out of")
    {
        Class::MapValueOutOfBounds
    } else if m.contains("too large") || m.contains("too complex") {
        Class::ProgramTooLarge
    } else if m.contains("back-edge")
        || m.contains("infinite loop")
        || m.contains("loop is not bounded")
    {
        Class::UnboundedLoop
    } else if m.contains("GPL") {
        Class::GplOnlyHelper
    } else if m.contains("R0 !read_ok") {
        Class::MissingReturn
    } else if m.contains("!read_ok") {
        Class::UninitializedRegister
    } else if m.contains("invalid read from stack")
        || m.contains("invalid indirect read from stack")
        || m.contains("uninit")
    {
        Class::UninitializedStack
    } else if m.contains("unknown func") || m.contains("program of this type cannot use helper") {
        Class::UnknownHelper
    } else {
        Class::Other
    }
}

/// An instruction line: `12: (71) r2 = ...`.
fn is_insn(line: &str) -> bool {
    let t = line.trim_start();
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && t[digits..].starts_with(": (")
}

fn parse_source(line: &str) -> Option<SourceLine> {
    let rest = line.strip_prefix("; ")?;
    let (text, loc) = rest.rsplit_once(" @ ")?;
    let (file, ln) = loc.rsplit_once(':')?;
    Some(SourceLine {
        text: text.to_string(),
        file: file.to_string(),
        line: ln.trim().parse().ok()?,
    })
}

/// Statistics and source annotations around the error message.
fn noise(line: &str) -> bool {
    let t = line.trim();
    t.is_empty()
        || t.starts_with(';')
        || t.starts_with("verification time")
        || t.starts_with("stack depth")
}

/// Explains a verifier log of a plain XDP program. `None` if the log holds no error (an
/// accepted program).
pub fn explain(log: &str) -> Option<Explanation> {
    explain_in(log, Context::Xdp)
}

/// Explains a verifier log of a program of kind `ctx`.
pub fn explain_in(log: &str, ctx: Context) -> Option<Explanation> {
    let lines: Vec<&str> = log.lines().collect();
    let processed_at = lines.iter().rposition(|l| l.starts_with("processed "));
    let processed = processed_at.and_then(|i| lines[i].split_whitespace().nth(1)?.parse().ok());
    let end = processed_at.unwrap_or(lines.len());
    // the error is the text after the last instruction line, before `processed ...`
    let last_insn = lines[..end].iter().rposition(|l| is_insn(l));
    let msg_lines: Vec<&str> = match last_insn {
        Some(i) => lines[i + 1..end]
            .iter()
            .copied()
            .filter(|l| !noise(l))
            .collect(),
        None => lines[..end]
            .iter()
            .copied()
            .filter(|l| !l.trim().is_empty())
            .collect(),
    };
    let message = msg_lines.join(" / ");
    if message.is_empty() {
        return None;
    }
    let source = lines[..last_insn.map(|i| i + 1).unwrap_or(end)]
        .iter()
        .rev()
        .find_map(|l| parse_source(l));
    let insn = last_insn.map(|i| {
        lines[i]
            .split(';')
            .next()
            .unwrap_or(lines[i])
            .trim_end()
            .to_string()
    });
    let insn_index = insn.as_deref().and_then(|i| {
        let t = i.trim_start();
        t[..t.find(':')?].parse().ok()
    });
    let error_line = msg_lines.last().map(|l| l.trim().to_string());
    let class = classify(&message);
    Some(Explanation {
        class,
        message,
        program: None,
        insn,
        insn_index,
        error_line,
        source,
        processed,
        context: ctx,
        advice: class.advice_in(ctx),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/verifier/{name}.log",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn packet_access_before_the_check() {
        let e = explain(&fixture("oob")).unwrap();
        assert_eq!(e.class, Class::PacketOutOfBounds);
        let src = e.source.unwrap();
        assert_eq!((src.file.as_str(), src.line), ("oob.bpf.c", 11));
        assert!(src.text.contains("bpf_printk"));
        assert_eq!(e.insn.as_deref(), Some("1: (71) r2 = *(u8 *)(r1 +12)"));
        assert_eq!(e.insn_index, Some(1));
        assert_eq!(
            e.error_line.as_deref(),
            Some("R1 offset is outside of the packet")
        );
        assert!(
            e.message
                .contains("invalid access to packet, off=12 size=1")
        );
        assert_eq!(e.processed, Some(2));
    }

    #[test]
    fn null_map_value() {
        let e = explain(&fixture("nullmap")).unwrap();
        assert_eq!(e.class, Class::NullMapValue);
        assert_eq!(e.source.unwrap().line, 9);
    }

    #[test]
    fn gpl_only_helper() {
        let e = explain(&fixture("gpl")).unwrap();
        assert_eq!(e.class, Class::GplOnlyHelper);
        assert!(e.render().contains("LICENSE"));
    }

    #[test]
    fn too_large() {
        let e = explain(&fixture("loop")).unwrap();
        assert_eq!(e.class, Class::ProgramTooLarge);
        assert_eq!(e.source.unwrap().line, 9);
        assert_eq!(e.processed, Some(1000001));
    }

    #[test]
    fn classes_from_messages() {
        assert_eq!(classify("back-edge from insn 7 to 3"), Class::UnboundedLoop);
        assert_eq!(classify("R3 !read_ok"), Class::UninitializedRegister);
        assert_eq!(classify("R0 !read_ok"), Class::MissingReturn);
        assert_eq!(
            classify("invalid indirect read from stack R2 off -8+0 size 8"),
            Class::UninitializedStack
        );
        assert_eq!(
            classify("invalid access to map value, value_size=8 off=8 size=8"),
            Class::MapValueOutOfBounds
        );
        assert_eq!(classify("unknown func bpf_foo#999"), Class::UnknownHelper);
    }

    #[test]
    fn an_unbounded_access_is_not_a_loop() {
        // the learner's log: an index from the packet into a map value
        for m in [
            "R0 unbounded memory access, make sure to bounds check any such access",
            "R1 unbounded memory access, use 'var &= const' or 'if (var < const)'",
            "math between pkt pointer and register with unbounded min value is not allowed",
        ] {
            assert_eq!(classify(m), Class::UnboundedAccess, "{m}");
        }
        assert!(!Class::UnboundedAccess.advice().contains("bpf_loop"));
        assert_eq!(
            classify("infinite loop detected at insn 3"),
            Class::UnboundedLoop
        );
        assert_eq!(
            classify("R0 max value is outside of the allowed memory range"),
            Class::MapValueOutOfBounds
        );
    }

    #[test]
    fn a_modules_advice_continues_the_chain() {
        for c in Class::ALL {
            let plain = c.advice_in(Context::Xdp);
            let module = c.advice_in(Context::HikeModule);
            assert!(
                !module.contains("XDP_PASS;`") || module.contains("never"),
                "{c:?}: {module}"
            );
            if plain.contains("return XDP_PASS;") {
                assert!(module.contains("return HIKE_XDP_VM;"), "{c:?}: {module}");
            }
        }
        let log = "0: (71) r2 = *(u8 *)(r1 +12)\ninvalid access to packet, off=12 size=1\nprocessed 1 insns";
        let e = explain_in(log, Context::HikeModule).unwrap();
        assert_eq!(e.context, Context::HikeModule);
        assert!(e.render().contains("HIKE_XDP_VM"), "{}", e.render());
        assert!(explain(log).unwrap().render().contains("return XDP_PASS;"));
    }

    #[test]
    fn accepted_programs_and_garbage() {
        assert!(explain("processed 12 insns (limit 1000000) max_states_per_insn 0").is_none());
        assert!(explain("").is_none());
        // never panics on arbitrary text
        for s in [
            "1: (",
            "; x @ y:z",
            "12: (85) call\n; a @ b:1\nprocessed",
            "\u{0}\n\n;",
        ] {
            let _ = explain(s);
        }
    }
}
