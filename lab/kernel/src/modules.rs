//! Building a learner's eBPF C file with clang and having the kernel verify it, without
//! attaching it anywhere: what `eclat-lab module build FILE.bpf.c` does. The HIKe headers are
//! embedded in the binary and written next to the lab's state, so building needs only clang.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use aya::programs::ProgramError;
use include_dir::{Dir, include_dir};
use serde::Serialize;

use eclat_model::cdiag::{self, CDiagnostic, KnownName};
use eclat_model::verifier::{self, Explanation};

static INCLUDE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../ebpf-modules/include");

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "clang is not installed: `module build` needs it (sudo apt-get install clang-19, or run setup.sh)"
    )]
    NoClang,
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    /// clang refused the file: its own words, and them as diagnostics
    /// ([`BuildError::compile_failed`] makes them)
    #[error("{file} does not compile:\n{stderr}")]
    Compile {
        file: String,
        stderr: String,
        diagnostics: Vec<CDiagnostic>,
    },
    #[error("{file}: the object cannot be loaded: {detail}")]
    Object { file: String, detail: String },
    #[error(
        "{file} is not a C source: `module build` compiles a `.bpf.c` (or `.c`) file into an \
         object beside it{hint}"
    )]
    NotSource { file: String, hint: String },
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProgramVerdict {
    /// the program's name in the object (its function's name)
    pub name: String,
    /// the program's type as the loader library names it (`Xdp`, `SchedClassifier` for tc,
    /// `SocketFilter`; another type is listed and rejected); despite the field's name, not the ELF
    /// section
    pub section: String,
    /// true when the kernel's verifier accepted the program (it was loaded, then unloaded again)
    pub accepted: bool,
    /// instructions after verification (xlated), when accepted
    pub insns: Option<u32>,
    /// wall time of the load (the verifier's run, and the JIT when accepted), in milliseconds; 0
    /// for a program type the lab does not verify
    pub verify_ms: f64,
    /// what the verifier log says, for a learner: the kind of error, the C line, what to do; null
    /// when the program was accepted, the log holds no error message, or the load failed
    /// before the verifier (then `log` says why)
    pub explanation: Option<Explanation>,
    /// the full verifier log when rejected
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BuildReport {
    /// the C source file that was compiled, as given
    pub source: String,
    /// the object file clang wrote: the source's name with `.bpf.c` (or `.c`) replaced by `.o`,
    /// beside it
    pub object: String,
    /// wall time of the clang run, in milliseconds
    pub clang_ms: f64,
    /// what clang printed on stderr (its warnings) although the build succeeded, as it printed
    /// it; empty when it printed nothing (`diagnostics` has them as data)
    pub warnings: String,
    /// clang's warnings, then the verifier's rejection of each program it explained, as
    /// `lesson check --json` gives a C file's diagnostics: paths relative to the source's
    /// folder, line and column, the quoted line and its marks, what to do (`help`); a
    /// rejection also names its `program`, the instruction (`insn`) and the C line; empty
    /// when there is nothing to say
    pub diagnostics: Vec<CDiagnostic>,
    /// one verdict per program in the object, in the object's order; the build is accepted only
    /// when there is at least one and all are accepted
    pub programs: Vec<ProgramVerdict>,
}

impl BuildReport {
    pub fn accepted(&self) -> bool {
        !self.programs.is_empty() && self.programs.iter().all(|p| p.accepted)
    }

    /// clang's warnings among the diagnostics (the others are the verifier's rejections,
    /// each naming its program)
    pub fn clang_warnings(&self) -> Vec<CDiagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.program.is_none())
            .cloned()
            .collect()
    }
}

impl BuildError {
    /// clang's refusal of `file`, built with the lab's headers in `include`, with what it
    /// printed made into diagnostics ([`clang_diagnostics`]).
    pub fn compile_failed(file: &Path, include: &Path, stderr: String) -> BuildError {
        BuildError::Compile {
            file: file.display().to_string(),
            diagnostics: clang_diagnostics(file, include, &stderr),
            stderr,
        }
    }
}

/// The folder the diagnostics of `file` are written relative to: its own.
fn folder_of(file: &Path) -> String {
    file.parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// What clang printed about `file` (built with the lab's headers in `include`) as
/// diagnostics: paths relative to the file's folder, columns in characters (the files read
/// with the learner's rights: a file they cannot read keeps clang's byte column), the lab's
/// headers named as the learner includes them (`<hike/parse.h>`, not the folder they were
/// extracted to), and a misspelt helper's or HIKe function's closest name ([`known_names`]).
pub fn clang_diagnostics(file: &Path, include: &Path, stderr: &str) -> Vec<CDiagnostic> {
    let mut diags = cdiag::parse_clang(stderr);
    let dir = folder_of(file);
    cdiag::relative_to(&mut diags, &dir);
    cdiag::char_columns(&mut diags, |f| {
        let p = Path::new(&dir).join(f);
        crate::perms::read_to_string_as_invoking_user(&p).ok()
    });
    cdiag::include_names(&mut diags, &include.display().to_string());
    if diags.iter().any(|d| {
        d.message.contains("undeclared function") || d.message.contains("undeclared identifier")
    }) {
        cdiag::suggest_known(&mut diags, known_names());
    }
    diags
}

/// The names a learner's C file can call, from the headers the lab builds with: the BPF
/// helpers of libbpf's `bpf/bpf_helper_defs.h` (included by `bpf/bpf_helpers.h`) and
/// `bpf/bpf_endian.h`, found where clang finds them (the multiarch folder, /usr/local/include,
/// /usr/include), and the HIKe and cube API of the embedded headers (`hike/*.h`). Read once.
pub fn known_names() -> &'static [KnownName] {
    static NAMES: std::sync::OnceLock<Vec<KnownName>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut out: Vec<KnownName> = Vec::new();
        let mut add = |text: &str, header: &str| {
            for name in cdiag::declared_names(text) {
                if !out.iter().any(|k| k.name == name) {
                    out.push(KnownName {
                        name,
                        header: header.to_string(),
                    });
                }
            }
        };
        let multiarch = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
        let system = [multiarch.as_str(), "/usr/local/include", "/usr/include"];
        for (file, header) in [
            ("bpf/bpf_helper_defs.h", "bpf/bpf_helpers.h"),
            ("bpf/bpf_helpers.h", "bpf/bpf_helpers.h"),
            ("bpf/bpf_endian.h", "bpf/bpf_endian.h"),
        ] {
            if let Some(text) = system
                .iter()
                .find_map(|d| std::fs::read_to_string(Path::new(d).join(file)).ok())
            {
                add(&text, header);
            }
        }
        fn walk(d: &Dir<'static>, add: &mut dyn FnMut(&str, &str)) {
            for f in d.files() {
                if let (Some(text), Some(path)) = (f.contents_utf8(), f.path().to_str())
                    && path.ends_with(".h")
                {
                    add(text, path);
                }
            }
            for sub in d.dirs() {
                walk(sub, add);
            }
        }
        walk(&INCLUDE, &mut add);
        out
    })
}

/// The verifier's rejections of `programs` (built from `file` with the lab's headers in
/// `include`) as diagnostics: one per rejected program it explained, at its C line (read from
/// the learner's file for the column), the file relative to the source's folder, or a lab
/// header as it is included (`<hike/parse.h>`: the C line of an inlined HIKe function).
pub fn rejection_diagnostics(
    file: &Path,
    include: &Path,
    programs: &[ProgramVerdict],
) -> Vec<CDiagnostic> {
    let include = include.display().to_string();
    let dir = folder_of(file);
    let shown = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let mut text: Option<Option<String>> = None;
    programs
        .iter()
        .filter(|p| !p.accepted)
        .filter_map(|p| {
            let e = p.explanation.as_ref()?;
            // the C line's file as the compiler recorded it (the kernel's log gives its base
            // name alone): one of the lab's headers as it is included, or relative to the
            // learner's folder; the line as written, for its column, when it is in their file
            // or a lab header
            let header = e
                .source
                .as_ref()
                .and_then(|s| lab_header_of(&s.file, &include, &dir, &shown));
            let at = match (&header, &e.source) {
                (Some(h), _) => format!("<{h}>"),
                (None, Some(s)) => cdiag::relative(&s.file, &dir),
                (None, None) => shown.clone(),
            };
            let line = e.source.as_ref().and_then(|s| {
                let n = s.line.checked_sub(1)? as usize;
                if let Some(h) = &header {
                    return INCLUDE.get_file(h)?.contents_utf8()?.lines().nth(n);
                }
                let t = text
                    .get_or_insert_with(|| crate::perms::read_to_string_as_invoking_user(file).ok())
                    .as_deref()
                    .filter(|_| at == shown)?;
                t.lines().nth(n)
            });
            Some(cdiag::from_verifier(&p.name, e, &at, line))
        })
        .collect()
}

/// The lab header (`hike/parse.h`, a path of the embedded include folder) a C line's file is,
/// as the verifier's log or BTF names it: a path below `include`, or a base name (the kernel
/// prints `@ parse.h:42`) that only one lab header has, and that is neither the learner's file
/// (`shown`) nor a file beside it in `dir` (their own `parse.h` is theirs).
fn lab_header_of(file: &str, include: &str, dir: &str, shown: &str) -> Option<String> {
    if let Some(n) = cdiag::include_name(file, include) {
        let n = n.trim_start_matches('<').trim_end_matches('>');
        return INCLUDE.get_file(n).map(|_| n.to_string());
    }
    if file.contains('/')
        || file == shown
        || std::fs::symlink_metadata(Path::new(dir).join(file)).is_ok()
    {
        return None;
    }
    fn walk(d: &Dir<'static>, name: &str, out: &mut Vec<String>) {
        for f in d.files() {
            if f.path().file_name().and_then(|n| n.to_str()) == Some(name)
                && let Some(p) = f.path().to_str()
            {
                out.push(p.to_string());
            }
        }
        for sub in d.dirs() {
            walk(sub, name, out);
        }
    }
    let mut found = Vec::new();
    walk(&INCLUDE, file, &mut found);
    (found.len() == 1).then(|| found.remove(0))
}

/// Writes the embedded headers below `dir` (once per binary version) and returns `dir`.
pub fn headers(dir: &Path) -> Result<PathBuf, BuildError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |err| BuildError::Io { path, err }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    INCLUDE.extract(dir).map_err(io(dir))?;
    Ok(dir.to_path_buf())
}

/// The clang flags the lab uses: the same as `ebpf-modules/Makefile`.
pub fn clang_args(src: &Path, out: &Path, include: &Path) -> Vec<String> {
    let multiarch = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    vec![
        "-O2".into(),
        "-g".into(),
        "-target".into(),
        "bpf".into(),
        "-mcpu=v3".into(),
        "-Wall".into(),
        "-Wno-unused-function".into(),
        format!("-I{}", include.display()),
        format!("-I{multiarch}"),
        "-c".into(),
        src.display().to_string(),
        "-o".into(),
        out.display().to_string(),
    ]
}

/// Compiles `src` into `out` with clang.
pub fn compile(src: &Path, out: &Path, include: &Path) -> Result<(f64, String), BuildError> {
    let clang = crate::doctor::clang().ok_or(BuildError::NoClang)?;
    let t0 = Instant::now();
    let mut cmd = Command::new(&clang);
    cmd.args(clang_args(src, out, include));
    // under sudo an object in the learner's folder is theirs: clang runs as them there (a
    // folder of root's, say a check's scratch folder, is written as root)
    if let Some((uid, gid)) = crate::perms::invoking_user() {
        use std::os::unix::fs::MetadataExt;
        use std::os::unix::process::CommandExt;
        let dir = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if std::fs::metadata(dir).is_ok_and(|m| m.uid() == uid) {
            cmd.uid(uid).gid(gid);
        }
    }
    let o = cmd.output().map_err(|err| BuildError::Io {
        path: PathBuf::from(&clang),
        err,
    })?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    if !o.status.success() {
        return Err(BuildError::compile_failed(src, include, stderr));
    }
    Ok((ms, stderr))
}

/// Loads every program of the object into the kernel (the verifier runs), then unloads it.
pub fn verify(object: &Path) -> Result<Vec<ProgramVerdict>, BuildError> {
    let file = object.display().to_string();
    let data = std::fs::read(object).map_err(|err| BuildError::Io {
        path: object.to_path_buf(),
        err,
    })?;
    let mut ebpf = crate::loader::with_plain_loader(&data, |l| l.load(&data)).map_err(|e| {
        BuildError::Object {
            file: file.clone(),
            detail: e.to_string(),
        }
    })?;
    // a HIKe module's programs get advice in HIKe's terms (HIKE_XDP_VM, not a verdict)
    let module_progs: Vec<String> = eclat_model::meta::read("object", &data)
        .map(|m| m.programs.into_iter().map(|p| p.name).collect())
        .unwrap_or_default();
    let names: Vec<(String, String)> = ebpf
        .programs()
        .map(|(n, p)| (n.to_string(), format!("{:?}", p.prog_type())))
        .collect();
    let mut out = Vec::new();
    for (name, section) in names {
        let prog = ebpf.program_mut(&name).expect("listed above");
        let t0 = Instant::now();
        let r = match prog {
            aya::programs::Program::Xdp(p) => p.load(),
            aya::programs::Program::SchedClassifier(p) => p.load(),
            aya::programs::Program::SocketFilter(p) => p.load(),
            other => {
                out.push(ProgramVerdict {
                    name,
                    section,
                    accepted: false,
                    insns: None,
                    verify_ms: 0.0,
                    explanation: None,
                    log: Some(format!(
                        "the lab verifies XDP, tc and socket filter programs; this one is {:?}",
                        other.prog_type()
                    )),
                });
                continue;
            }
        };
        let verify_ms = t0.elapsed().as_secs_f64() * 1000.0;
        match r {
            Ok(()) => {
                let insns = prog
                    .info()
                    .ok()
                    .and_then(|i| i.size_translated())
                    .map(|b| b / 8);
                out.push(ProgramVerdict {
                    name,
                    section,
                    accepted: true,
                    insns,
                    verify_ms,
                    explanation: None,
                    log: None,
                });
            }
            Err(ProgramError::LoadError { verifier_log, .. }) => {
                let log = verifier_log.to_string();
                let ctx = if module_progs.contains(&name) {
                    verifier::Context::HikeModule
                } else {
                    verifier::Context::Xdp
                };
                let explanation = verifier::explain_in(&log, ctx).map(|e| Explanation {
                    program: Some(name.clone()),
                    ..e
                });
                out.push(ProgramVerdict {
                    name,
                    section,
                    accepted: false,
                    insns: None,
                    verify_ms,
                    explanation,
                    log: Some(log),
                });
            }
            Err(e) => out.push(ProgramVerdict {
                name,
                section,
                accepted: false,
                insns: None,
                verify_ms,
                explanation: None,
                log: Some(e.to_string()),
            }),
        }
    }
    Ok(out)
}

/// `module build`: compile `src` to `src` with `.o` instead of `.bpf.c`, then verify.
pub fn build(src: &Path, include_cache: &Path) -> Result<BuildReport, BuildError> {
    let name = src.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let Some(stem) = name
        .strip_suffix(".bpf.c")
        .or_else(|| name.strip_suffix(".c"))
        .filter(|s| !s.is_empty())
    else {
        return Err(BuildError::NotSource {
            file: src.display().to_string(),
            hint: if name.ends_with(".o") {
                format!(
                    "; {name} is built already: `eclat-lab module load {}` loads it",
                    src.display()
                )
            } else {
                String::new()
            },
        });
    };
    let include = headers(include_cache)?;
    let out = src.with_file_name(format!("{stem}.o"));
    let (clang_ms, warnings) = compile(src, &out, &include)?;
    let programs = verify(&out)?;
    let mut diagnostics = clang_diagnostics(src, &include, &warnings);
    diagnostics.extend(rejection_diagnostics(src, &include, &programs));
    Ok(BuildReport {
        source: src.display().to_string(),
        object: out.display().to_string(),
        clang_ms,
        warnings,
        diagnostics,
        programs,
    })
}

/// The outcome of one packet through a program of a learner's object.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PacketRun {
    /// the program's return value for the packet (the XDP action: 0 aborted, 1 drop, 2 pass, 3 tx,
    /// 4 redirect)
    pub verdict: u32,
    /// the kernel's own timing of the run (`BPF_PROG_TEST_RUN`, one repetition), in nanoseconds
    pub duration_ns: u64,
    /// the frame as the program left it
    #[serde(skip)]
    pub output: Vec<u8>,
    /// map name -> (key, value) rows after the run, per-CPU values summed
    #[serde(skip)]
    pub maps: Vec<crate::maps::Dump>,
}

/// A value written into one of the object's maps before the packets run: `map[key] = value`
/// (numbers, IPv4 addresses, verdicts, as `map set` takes them).
#[derive(Debug, Clone, PartialEq)]
pub struct MapWrite {
    pub map: String,
    pub key: String,
    pub value: String,
}

/// Loads `object` (every map fresh), writes `writes` into its maps, then runs `program` (or
/// the only XDP program) on each packet with `BPF_PROG_TEST_RUN`, reading every map and the
/// output frame after each run. The maps are pinned below `scratch` (a directory under the
/// lab's bpffs root) while this runs, then removed.
pub fn run_packets(
    object: &Path,
    program: Option<&str>,
    writes: &[MapWrite],
    packets: &[Vec<u8>],
    scratch: &Path,
) -> Result<Vec<PacketRun>, BuildError> {
    use aya::programs::{TestRun, TestRunOptions, Xdp};
    let file = object.display().to_string();
    let obj_err = |detail: String| BuildError::Object {
        file: file.clone(),
        detail,
    };
    let data = std::fs::read(object).map_err(|err| BuildError::Io {
        path: object.to_path_buf(),
        err,
    })?;
    let mut ebpf = crate::loader::with_plain_loader(&data, |l| l.load(&data))
        .map_err(|e| obj_err(e.to_string()))?;
    let xdp_names: Vec<String> = ebpf
        .programs()
        .filter(|(_, p)| matches!(p, aya::programs::Program::Xdp(_)))
        .map(|(n, _)| n.to_string())
        .collect();
    let name = match program {
        Some(p) => p.to_string(),
        None if xdp_names.len() == 1 => xdp_names[0].clone(),
        None => {
            return Err(obj_err(format!(
                "say which program to run: the object has {}",
                xdp_names.join(", ")
            )));
        }
    };
    let prog: &mut Xdp = ebpf
        .program_mut(&name)
        .ok_or_else(|| {
            obj_err(format!(
                "no program `{name}` (it has {})",
                xdp_names.join(", ")
            ))
        })?
        .try_into()
        .map_err(|e: ProgramError| obj_err(e.to_string()))?;
    prog.load()
        .map_err(|e| obj_err(format!("the verifier rejected {name}: {e}")))?;
    std::fs::create_dir_all(scratch).map_err(|err| BuildError::Io {
        path: scratch.to_path_buf(),
        err,
    })?;
    struct Cleanup<'a>(&'a Path);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0);
        }
    }
    let _cleanup = Cleanup(scratch);
    let mut pinned = Vec::new();
    for (mname, map) in ebpf.maps() {
        if mname.starts_with('.') {
            continue;
        }
        let p = scratch.join(mname);
        map.pin(&p)
            .map_err(|e| obj_err(format!("pin {mname}: {e}")))?;
        pinned.push(p);
    }
    let refs: Vec<crate::maps::MapRef> = pinned
        .iter()
        .filter_map(|p| crate::maps::map_ref(p, scratch).ok())
        .collect();
    for w in writes {
        let m = refs
            .iter()
            .find(|m| m.name == w.map || m.name.ends_with(&format!("/{}", w.map)))
            .ok_or_else(|| obj_err(format!("the object has no map `{}`", w.map)))?;
        crate::maps::set(m, &w.key, &w.value)
            .map_err(|e| obj_err(format!("{}[{}] = {}: {e}", w.map, w.key, w.value)))?;
    }
    let prog: &Xdp = ebpf
        .program(&name)
        .expect("loaded above")
        .try_into()
        .map_err(|e: ProgramError| obj_err(e.to_string()))?;
    let mut out = Vec::new();
    for pkt in packets {
        let mut buf = vec![0u8; pkt.len() + 512];
        let opts = TestRunOptions {
            data_in: Some(pkt),
            data_out: Some(&mut buf),
            repeat: 1,
            ..Default::default()
        };
        let r = prog
            .test_run(opts)
            .map_err(|e| obj_err(format!("BPF_PROG_TEST_RUN: {e}")))?;
        let maps = refs
            .iter()
            .filter_map(|m| crate::maps::dump(m, 4096).ok())
            .collect();
        buf.truncate((r.data_size_out as usize).min(buf.len()));
        out.push(PacketRun {
            verdict: r.return_value,
            duration_ns: r.duration.as_nanos() as u64,
            output: buf,
            maps,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The end of the log the kernel wrote rejecting a learner's program that handed
    /// `hike_parse_l2l3` a packet pointer for `l4proto` (the C line is in the lab's header, and
    /// the kernel names its file by its base name).
    const LOG: &str = "124: (63) *(u32 *)(r0 +0) = r3        ; R0=map_value(map=hvm_shmem_map,ks=4,vs=8192) R3=0\n\
                       ; *l4proto = 0; @ parse.h:42\n\
                       125: (73) *(u8 *)(r1 +0) = r3\n\
                       invalid access to packet, off=0 size=1, R1(id=0,off=0,r=0)\n\
                       R1 offset is outside of the packet\n\
                       verification time 188 usec\n\
                       stack depth 8\n\
                       processed 126 insns (limit 1000000) max_states_per_insn 0 total_states 9 peak_states 9 mark_read 3\n";

    fn rejected() -> ProgramVerdict {
        ProgramVerdict {
            name: "nullpi".into(),
            section: "Xdp".into(),
            accepted: false,
            insns: None,
            verify_ms: 0.0,
            explanation: verifier::explain(LOG),
            log: Some(LOG.into()),
        }
    }

    /// A rejection at a line of the lab's header names it as the learner includes it, with
    /// the line as the header writes it (for the column), never the folder it was extracted to.
    #[test]
    fn a_rejection_in_a_lab_header_names_it_as_included() {
        let d = rejection_diagnostics(
            Path::new("/nonexistent-ws/nullpi.bpf.c"),
            Path::new("/tmp/x/include"),
            &[rejected()],
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].file.as_deref(), Some("<hike/parse.h>"));
        assert_eq!(d[0].span, Some(cdiag::LineCol { line: 42, col: 2 }));
        let text = cdiag::render(&d);
        assert!(text.starts_with("<hike/parse.h>:42:2: error: "), "{text}");
    }

    #[test]
    fn only_a_lab_headers_name_is_taken_for_one() {
        let h = |f: &str, shown: &str| lab_header_of(f, "/s/include", "/nonexistent-ws", shown);
        assert_eq!(h("parse.h", "a.bpf.c").as_deref(), Some("hike/parse.h"));
        assert_eq!(
            h("/s/include/cube/cube.h", "a.bpf.c").as_deref(),
            Some("cube/cube.h")
        );
        // the learner's own file, a path elsewhere, a name no lab header has
        assert_eq!(h("parse.h", "parse.h"), None);
        assert_eq!(h("/home/me/parse.h", "a.bpf.c"), None);
        assert_eq!(h("nosuch.h", "a.bpf.c"), None);
        // a file of that name beside the learner's is theirs
        let dir = std::env::temp_dir().join(format!("eclat-hdr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("parse.h"), "").unwrap();
        let theirs = lab_header_of("parse.h", "/s/include", dir.to_str().unwrap(), "a.bpf.c");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(theirs, None);
    }
}
