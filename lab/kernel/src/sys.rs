//! The few raw `bpf(2)` commands aya does not expose: map commands for byte-level access
//! (keys and values of any size, as `map dump` needs), and reading a program's identity (ID,
//! tag, name) from its kernel ID, which aya 0.14 only offers by walking every program. The
//! only unsafe code of the lab lives here.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;

/// The `map_elem` member of `union bpf_attr`.
#[repr(C, align(8))]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value_or_next_key: u64,
    flags: u64,
}

fn bpf(cmd: libc::c_long, attr: &mut MapElemAttr) -> io::Result<()> {
    // SAFETY: `attr` is a valid, initialised bpf_attr prefix of the size we pass; the
    // pointers inside it point at live buffers of the sizes the map expects (callers check).
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut MapElemAttr,
            std::mem::size_of::<MapElemAttr>(),
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Next key after `key` (or the first with `None`); `Ok(false)` at the end.
pub fn next_key(fd: BorrowedFd<'_>, key: Option<&[u8]>, next: &mut [u8]) -> io::Result<bool> {
    let mut a = MapElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.map(|k| k.as_ptr() as u64).unwrap_or(0),
        value_or_next_key: next.as_mut_ptr() as u64,
        ..Default::default()
    };
    match bpf(BPF_MAP_GET_NEXT_KEY, &mut a) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Looks `key` up into `value` (sized for all CPUs on per-CPU maps); `Ok(false)` if absent.
pub fn lookup(fd: BorrowedFd<'_>, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    let mut a = MapElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value_or_next_key: value.as_mut_ptr() as u64,
        ..Default::default()
    };
    match bpf(BPF_MAP_LOOKUP_ELEM, &mut a) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes `value` at `key` (BPF_ANY).
pub fn update(fd: BorrowedFd<'_>, key: &[u8], value: &[u8]) -> io::Result<()> {
    let mut a = MapElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value_or_next_key: value.as_ptr() as u64,
        ..Default::default()
    };
    bpf(BPF_MAP_UPDATE_ELEM, &mut a)
}

/// Deletes `key`; `Ok(false)` if it was absent.
pub fn delete(fd: BorrowedFd<'_>, key: &[u8]) -> io::Result<bool> {
    let mut a = MapElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        ..Default::default()
    };
    match bpf(BPF_MAP_DELETE_ELEM, &mut a) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;

/// The `batch` member of `union bpf_attr`.
#[repr(C, align(8))]
#[derive(Default)]
struct MapBatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// One step of a batch walk of a map (`BPF_MAP_LOOKUP_BATCH`): up to `keys.len() / key_size`
/// entries after the position `from` (the map's start with `None`), the keys into `keys`, the
/// values into `values` (each `value_stride` bytes: the value size, or for per-CPU maps the
/// value size rounded up to 8 times the number of possible CPUs), and the position after
/// them into `next` (at least `key_size` and 8 bytes). Returns how many entries it filled and
/// whether the map ended there; `Ok(None)` when the map's type has no batch lookup (a program
/// array, a ring buffer) or a hash bucket holds more entries than fit, so the caller walks
/// the keys instead.
pub fn lookup_batch(
    fd: BorrowedFd<'_>,
    from: Option<&[u8]>,
    next: &mut [u8],
    key_size: usize,
    keys: &mut [u8],
    value_stride: usize,
    values: &mut [u8],
) -> io::Result<Option<(usize, bool)>> {
    let n = keys.len() / key_size.max(1);
    assert!(
        values.len() >= n * value_stride,
        "values sized for {n} entries"
    );
    assert!(
        next.len() >= key_size.max(8),
        "a position token of a key or a u32"
    );
    assert!(
        from.is_none_or(|f| f.len() == next.len()),
        "tokens of one size"
    );
    let mut a = MapBatchAttr {
        in_batch: from.map(|f| f.as_ptr() as u64).unwrap_or(0),
        out_batch: next.as_mut_ptr() as u64,
        keys: keys.as_mut_ptr() as u64,
        values: values.as_mut_ptr() as u64,
        count: n as u32,
        map_fd: fd.as_raw_fd() as u32,
        ..Default::default()
    };
    // SAFETY: `a` is a valid, initialised bpf_attr prefix of the size we pass; `keys` and
    // `values` hold `count` keys and values of the map's sizes (asserted above; the caller
    // passes the map's key size and value stride), the tokens at least a key or a u32.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_MAP_LOOKUP_BATCH,
            &mut a as *mut MapBatchAttr,
            std::mem::size_of::<MapBatchAttr>(),
        )
    };
    if r == 0 {
        return Ok(Some((a.count as usize, false)));
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        // the end of the map: `count` says how many were filled
        Some(libc::ENOENT) => Ok(Some((a.count as usize, true))),
        // no batch lookup for this map type (ENOTSUPP is the kernel's 524), or a bucket
        // larger than the buffer
        Some(libc::EINVAL | libc::EOPNOTSUPP | 524 | libc::ENOSPC) => Ok(None),
        _ => Err(e),
    }
}

/// Number of possible CPUs (the stride of per-CPU map values).
pub fn possible_cpus() -> usize {
    aya::util::nr_cpus().unwrap_or(1).max(1)
}

const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;

fn bpf_raw<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a valid, initialised bpf_attr prefix of the size we pass, whose
    // pointers point at live buffers of the sizes they announce (the callers below).
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// What `BPF_OBJ_GET_INFO_BY_FD` says of a program (the members the lab reads).
#[derive(Debug, Clone, Default)]
pub struct ProgInfo {
    pub id: u32,
    /// the kernel's hash of the instructions (map references left out)
    pub tag: [u8; 8],
    pub name: String,
    pub jited_bytes: u32,
    pub xlated_bytes: u32,
    /// the program's BTF object (0: loaded without BTF)
    pub btf_id: u32,
    /// how many source-line records the program has
    pub line_infos: u32,
    /// how many maps the program uses
    pub maps: u32,
    /// run-time statistics, counted only while they are on ([`enable_stats`])
    pub run_time_ns: u64,
    pub run_cnt: u64,
}

/// The program with kernel ID `id`, if it still exists.
pub fn prog_info_by_id(id: u32) -> io::Result<Option<ProgInfo>> {
    let Some(fd) = prog_fd_by_id(id)? else {
        return Ok(None);
    };
    prog_info(std::os::fd::AsFd::as_fd(&fd)).map(Some)
}

/// A file descriptor of the program with kernel ID `id`, if it still exists.
fn prog_fd_by_id(id: u32) -> io::Result<Option<OwnedFd>> {
    #[repr(C, align(8))]
    struct GetFd {
        prog_id: u32,
        next_id: u32,
        open_flags: u32,
        _pad: u32,
    }
    let mut a = GetFd {
        prog_id: id,
        next_id: 0,
        open_flags: 0,
        _pad: 0,
    };
    let fd = match bpf_raw(BPF_PROG_GET_FD_BY_ID, &mut a) {
        // SAFETY: a new file descriptor that nobody else owns.
        Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd as i32) },
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(fd))
}

/// The instructions of the program with kernel ID `id` as the verifier left them (bpftool's
/// `dump xlated`: map references as the kernel writes them), if it still exists.
pub fn prog_xlated_by_id(id: u32) -> io::Result<Option<Vec<[u8; 8]>>> {
    let Some(fd) = prog_fd_by_id(id)? else {
        return Ok(None);
    };
    let info = prog_info(std::os::fd::AsFd::as_fd(&fd))?;
    #[repr(C, align(8))]
    struct GetInfo {
        bpf_fd: u32,
        info_len: u32,
        info: u64,
    }
    let mut insns = vec![[0u8; 8]; info.xlated_bytes as usize / 8];
    // struct bpf_prog_info up to xlated_prog_insns (offset 32): the length at 20, the buffer
    let mut req = [0u64; 5];
    req[2] = (info.xlated_bytes as u64) << 32;
    req[4] = insns.as_mut_ptr() as u64;
    let mut a = GetInfo {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: 40,
        info: req.as_mut_ptr() as u64,
    };
    bpf_raw(BPF_OBJ_GET_INFO_BY_FD, &mut a)?;
    let len = (req[2] >> 32) as usize / 8;
    insns.truncate(len);
    Ok(Some(insns))
}

/// What the kernel says of the program behind `fd`.
fn prog_info(fd: BorrowedFd<'_>) -> io::Result<ProgInfo> {
    #[repr(C, align(8))]
    struct GetInfo {
        bpf_fd: u32,
        info_len: u32,
        info: u64,
    }
    // struct bpf_prog_info up to and including `run_cnt` (offset 200); the kernel fills what
    // it has of that prefix
    let mut info = [0u64; 26];
    let mut a = GetInfo {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: 208,
        info: info.as_mut_ptr() as u64,
    };
    bpf_raw(BPF_OBJ_GET_INFO_BY_FD, &mut a)?;
    let b: Vec<u8> = info.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().expect("4 bytes"));
    let name = &b[64..80];
    let end = name.iter().position(|&c| c == 0).unwrap_or(16);
    Ok(ProgInfo {
        id: u32_at(4),
        tag: b[8..16].try_into().expect("8 bytes"),
        jited_bytes: u32_at(16),
        xlated_bytes: u32_at(20),
        name: String::from_utf8_lossy(&name[..end]).into_owned(),
        btf_id: u32_at(128),
        line_infos: u32_at(148),
        maps: u32_at(52),
        run_time_ns: info[24],
        run_cnt: info[25],
    })
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_MAP_FREEZE: libc::c_long = 22;
const BPF_PROG_TYPE_XDP: u32 = 6;
const BPF_XDP: u32 = 37;

/// Makes a map read-only for user space (`BPF_MAP_FREEZE`): the verifier then takes the
/// values of a read-only data section as constants.
pub fn freeze(fd: BorrowedFd<'_>) -> io::Result<()> {
    #[repr(C, align(8))]
    struct Freeze {
        map_fd: u32,
        _pad: u32,
    }
    let mut a = Freeze {
        map_fd: fd.as_raw_fd() as u32,
        _pad: 0,
    };
    bpf_raw(BPF_MAP_FREEZE, &mut a).map(|_| ())
}

const BPF_BTF_LOAD: libc::c_long = 18;

/// Loads a BTF object (`BPF_BTF_LOAD`), for a program's source lines.
pub fn btf_load(bytes: &[u8]) -> io::Result<OwnedFd> {
    #[repr(C, align(8))]
    struct BtfLoad {
        btf: u64,
        btf_log_buf: u64,
        btf_size: u32,
        btf_log_size: u32,
        btf_log_level: u32,
        _pad: u32,
    }
    let mut a = BtfLoad {
        btf: bytes.as_ptr() as u64,
        btf_log_buf: 0,
        btf_size: bytes.len() as u32,
        btf_log_size: 0,
        btf_log_level: 0,
        _pad: 0,
    };
    // SAFETY: a new file descriptor that nobody else owns.
    bpf_raw(BPF_BTF_LOAD, &mut a).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A program's BTF: the object, and the records of its functions (`struct bpf_func_info`,
/// 8 bytes each) and source lines (`struct bpf_line_info`, 16 bytes each).
pub struct ProgBtf<'a> {
    pub fd: BorrowedFd<'a>,
    pub func_info: &'a [u8],
    pub line_info: &'a [u8],
}

/// Loads an XDP program from raw instructions (8 bytes each, map references already
/// resolved to file descriptors), as aya does for an XDP program (`expected_attach_type`
/// BPF_XDP), with its BTF when given. On a refusal, the error carries the end of the
/// verifier's log.
pub fn prog_load_xdp(
    insns: &[u8],
    license: &str,
    name: &str,
    btf: Option<&ProgBtf<'_>>,
) -> Result<OwnedFd, String> {
    #[repr(C, align(8))]
    struct ProgLoad {
        prog_type: u32,
        insn_cnt: u32,
        insns: u64,
        license: u64,
        log_level: u32,
        log_size: u32,
        log_buf: u64,
        kern_version: u32,
        prog_flags: u32,
        prog_name: [u8; 16],
        prog_ifindex: u32,
        expected_attach_type: u32,
        prog_btf_fd: u32,
        func_info_rec_size: u32,
        func_info: u64,
        func_info_cnt: u32,
        line_info_rec_size: u32,
        line_info: u64,
        line_info_cnt: u32,
        _pad: u32,
    }
    let license = std::ffi::CString::new(license).map_err(|e| e.to_string())?;
    let mut prog_name = [0u8; 16];
    for (d, s) in prog_name.iter_mut().zip(name.bytes().take(15)) {
        *d = s;
    }
    let load = |log: &mut Vec<u8>, level: u32| {
        let mut a = ProgLoad {
            prog_type: BPF_PROG_TYPE_XDP,
            insn_cnt: (insns.len() / 8) as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level: level,
            log_size: log.len() as u32,
            log_buf: if log.is_empty() {
                0
            } else {
                log.as_mut_ptr() as u64
            },
            kern_version: 0,
            prog_flags: 0,
            prog_name,
            prog_ifindex: 0,
            expected_attach_type: BPF_XDP,
            prog_btf_fd: btf.map_or(0, |b| b.fd.as_raw_fd() as u32),
            func_info_rec_size: btf.map_or(0, |_| 8),
            func_info: btf.map_or(0, |b| b.func_info.as_ptr() as u64),
            func_info_cnt: btf.map_or(0, |b| (b.func_info.len() / 8) as u32),
            line_info_rec_size: btf.map_or(0, |_| 16),
            line_info: btf.map_or(0, |b| b.line_info.as_ptr() as u64),
            line_info_cnt: btf.map_or(0, |b| (b.line_info.len() / 16) as u32),
            _pad: 0,
        };
        // SAFETY: a new file descriptor that nobody else owns.
        bpf_raw(BPF_PROG_LOAD, &mut a).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
    };
    match load(&mut Vec::new(), 0) {
        Ok(fd) => Ok(fd),
        Err(first) => {
            let mut log = vec![0u8; 1 << 20];
            let _ = load(&mut log, 1);
            let end = log.iter().position(|&c| c == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let tail: Vec<&str> = text.lines().rev().take(3).collect();
            Err(format!(
                "{first}: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ))
        }
    }
}

const BPF_LINK_CREATE: libc::c_long = 28;
/// `XDP_FLAGS_SKB_MODE`: the generic (skb) XDP hook, which any device has.
const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;

/// Attaches XDP program `prog` to interface `ifindex` of the calling thread's network
/// namespace at the generic (skb) hook, as a BPF link (`BPF_LINK_CREATE`); closing the
/// returned descriptor detaches it (as does the interface going away).
pub fn xdp_link_generic(prog: BorrowedFd<'_>, ifindex: u32) -> io::Result<OwnedFd> {
    #[repr(C, align(8))]
    struct LinkCreate {
        prog_fd: u32,
        target_ifindex: u32,
        attach_type: u32,
        flags: u32,
        _rest: [u64; 4],
    }
    let mut a = LinkCreate {
        prog_fd: prog.as_raw_fd() as u32,
        target_ifindex: ifindex,
        attach_type: BPF_XDP,
        flags: XDP_FLAGS_SKB_MODE,
        _rest: [0; 4],
    };
    // SAFETY: a new file descriptor that nobody else owns.
    bpf_raw(BPF_LINK_CREATE, &mut a).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

const BPF_ENABLE_STATS: libc::c_long = 32;
const BPF_STATS_RUN_TIME: u32 = 0;

/// Turns on the kernel's run-time statistics of every BPF program (`run_cnt`,
/// `run_time_ns`, as `bpftool prog show` prints them) for as long as the returned file
/// descriptor is open (`BPF_ENABLE_STATS`). Unlike writing `kernel.bpf_stats_enabled`, nothing
/// has to be restored: closing the descriptor (or the process ending) turns them off again,
/// unless someone else still holds them on.
pub fn enable_stats() -> io::Result<OwnedFd> {
    #[repr(C, align(8))]
    struct EnableStats {
        kind: u32,
        _pad: u32,
    }
    let mut a = EnableStats {
        kind: BPF_STATS_RUN_TIME,
        _pad: 0,
    };
    // SAFETY: a new file descriptor that nobody else owns.
    bpf_raw(BPF_ENABLE_STATS, &mut a).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A program's run-time statistics (`run_time_ns`, `run_cnt`: counted only while statistics
/// are on), if it still exists.
pub fn prog_stats_by_id(id: u32) -> io::Result<Option<(u64, u64)>> {
    Ok(prog_info_by_id(id)?.map(|p| (p.run_time_ns, p.run_cnt)))
}

/// What a process's file descriptor attaches a BPF program to (`BPF_TASK_FD_QUERY`, what
/// `bpftool perf` lists): a tracepoint, a kprobe or a uprobe and the program's ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdProbe {
    pub prog_id: u32,
    /// `BPF_FD_TYPE_*`: 0 raw tracepoint, 1 tracepoint, 2 kprobe, 3 kretprobe, 4 uprobe,
    /// 5 uretprobe
    pub fd_type: u32,
    /// the tracepoint's or the kernel function's name, the uprobe's file
    pub name: String,
}

/// `BPF_FD_TYPE_UPROBE` and `BPF_FD_TYPE_URETPROBE`.
pub const FD_TYPE_UPROBES: [u32; 2] = [4, 5];

/// The probe that file descriptor `fd` of process `pid` attaches a program to, if it is one
/// (`None` for any other descriptor, and for one the process closed meanwhile).
pub fn task_fd_query(pid: u32, fd: u32) -> Option<FdProbe> {
    const BPF_TASK_FD_QUERY: libc::c_long = 20;
    #[repr(C, align(8))]
    struct TaskFdQuery {
        pid: u32,
        fd: u32,
        flags: u32,
        buf_len: u32,
        buf: u64,
        prog_id: u32,
        fd_type: u32,
        probe_offset: u64,
        probe_addr: u64,
    }
    let mut buf = vec![0u8; 256];
    let mut a = TaskFdQuery {
        pid,
        fd,
        flags: 0,
        buf_len: buf.len() as u32,
        buf: buf.as_mut_ptr() as u64,
        prog_id: 0,
        fd_type: 0,
        probe_offset: 0,
        probe_addr: 0,
    };
    // a name longer than the buffer comes back cut, with ENOSPC and everything else filled in
    if let Err(e) = bpf_raw(BPF_TASK_FD_QUERY, &mut a)
        && e.raw_os_error() != Some(libc::ENOSPC)
    {
        return None;
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(FdProbe {
        prog_id: a.prog_id,
        fd_type: a.fd_type,
        name: String::from_utf8_lossy(&buf[..len]).into_owned(),
    })
}

/// The BPF programs process `pid` has attached to probes: one entry per distinct (program,
/// probe), from its file descriptors (perf events and raw tracepoints answer
/// `BPF_TASK_FD_QUERY`; a tracing link, as fentry makes, says its program in its fdinfo).
/// Empty when the process is gone.
pub fn attached_probes(pid: u32) -> Vec<FdProbe> {
    let mut found: Vec<FdProbe> = Vec::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return found;
    };
    for e in dir.flatten() {
        let Some(fd) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let probe = task_fd_query(pid, fd).or_else(|| {
            let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
            let field = |k: &str| {
                info.lines()
                    .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            };
            (field("link_type:")? == "tracing").then_some(())?;
            Some(FdProbe {
                prog_id: field("prog_id:")?.parse().ok()?,
                fd_type: u32::MAX,
                name: format!("tracing link {}", field("link_id:").unwrap_or_default()),
            })
        });
        if let Some(p) = probe
            && !found.contains(&p)
        {
            found.push(p);
        }
    }
    found
}

/// The BPF objects pinned below a folder of bpffs, as the kernel accounts them: what `bpftool
/// prog/map show pinned` reports, without bpftool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BpfUsage {
    /// the kernel IDs of the programs pinned there, attached through a link pinned there, or
    /// both; sorted, each once
    pub programs: Vec<u32>,
    /// the kernel IDs of the maps pinned there and of the maps those programs use; sorted,
    /// each once
    pub maps: Vec<u32>,
    /// the kernel's memlock accounting (`memlock:` of each object's fdinfo, bpftool's
    /// `bytes_memlock`) summed over those programs and maps, in bytes
    pub memlock_bytes: u64,
}

/// A field of `/proc/self/fdinfo/FD` (`memlock`, `map_id`, `prog_id`, `link_id`).
fn fdinfo_field(fd: BorrowedFd<'_>, key: &str) -> io::Result<Option<u64>> {
    let s = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))?;
    Ok(s.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    }))
}

/// The ID of the program pinned at `path`, or of the program behind the link pinned there
/// (None: nothing pinned there, not a program or a link, or a link that lost its program).
/// Tells whether an attachment runs the very program a pin names, not only one of that name.
pub fn pinned_prog_id(path: &std::path::Path) -> io::Result<Option<u32>> {
    let fd = match obj_get(path) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    if fdinfo_field(std::os::fd::AsFd::as_fd(&fd), "map_id")?.is_some() {
        return Ok(None);
    }
    Ok(fdinfo_field(std::os::fd::AsFd::as_fd(&fd), "prog_id")?
        .filter(|id| *id != 0)
        .map(|id| id as u32))
}

/// Opens the object pinned at `path` (`BPF_OBJ_GET`).
fn obj_get(path: &std::path::Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    #[repr(C, align(8))]
    struct ObjGet {
        pathname: u64,
        bpf_fd: u32,
        file_flags: u32,
        path_fd: i32,
        _pad: u32,
    }
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut a = ObjGet {
        pathname: c.as_ptr() as u64,
        bpf_fd: 0,
        file_flags: 0,
        path_fd: 0,
        _pad: 0,
    };
    // SAFETY: a new file descriptor that nobody else owns.
    bpf_raw(BPF_OBJ_GET, &mut a).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

const BPF_OBJ_GET: libc::c_long = 7;
const BPF_MAP_GET_FD_BY_ID: libc::c_long = 14;

/// A file descriptor of the map with kernel ID `id`, if it still exists.
fn map_fd_by_id(id: u32) -> io::Result<Option<OwnedFd>> {
    #[repr(C, align(8))]
    struct GetFd {
        map_id: u32,
        next_id: u32,
        open_flags: u32,
        _pad: u32,
    }
    let mut a = GetFd {
        map_id: id,
        next_id: 0,
        open_flags: 0,
        _pad: 0,
    };
    match bpf_raw(BPF_MAP_GET_FD_BY_ID, &mut a) {
        // SAFETY: a new file descriptor that nobody else owns.
        Ok(fd) => Ok(Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The IDs of the maps the program behind `fd` uses.
fn prog_map_ids(fd: BorrowedFd<'_>) -> io::Result<Vec<u32>> {
    #[repr(C, align(8))]
    struct GetInfo {
        bpf_fd: u32,
        info_len: u32,
        info: u64,
    }
    let n = prog_info(fd)?.maps as usize;
    let mut ids = vec![0u32; n];
    // struct bpf_prog_info up to map_ids (offset 56): nr_map_ids at 52, the buffer at 56
    let mut req = [0u64; 8];
    req[6] = (n as u64) << 32;
    req[7] = ids.as_mut_ptr() as u64;
    let mut a = GetInfo {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: 64,
        info: req.as_mut_ptr() as u64,
    };
    bpf_raw(BPF_OBJ_GET_INFO_BY_FD, &mut a)?;
    ids.truncate(((req[6] >> 32) as usize).min(n));
    Ok(ids)
}

/// What the BPF objects pinned below `root` (a folder of bpffs, walked without following
/// symbolic links) take: the programs pinned there or behind a link pinned there, the maps
/// pinned there or used by those programs, and their memlock bytes. An object removed while
/// it is read is left out. Needs the rights to open the pins (root's, for the lab's).
pub fn bpf_usage_below(root: &std::path::Path) -> io::Result<BpfUsage> {
    use std::collections::BTreeMap;
    let mut progs: BTreeMap<u32, u64> = BTreeMap::new();
    let mut maps: BTreeMap<u32, u64> = BTreeMap::new();
    let mut prog_fds: Vec<OwnedFd> = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    let gone = |e: &io::Error| e.raw_os_error() == Some(libc::ENOENT);
    let context = |p: &std::path::Path, e: io::Error| {
        io::Error::new(e.kind(), format!("{}: {e}", p.display()))
    };
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(context(&dir, e)),
        };
        for e in entries {
            let e = e.map_err(|e| context(&dir, e))?;
            let path = e.path();
            let ty = e.file_type().map_err(|e| context(&path, e))?;
            if ty.is_dir() {
                dirs.push(path);
                continue;
            }
            if !ty.is_file() {
                continue;
            }
            let fd = match obj_get(&path) {
                Ok(fd) => fd,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(context(&path, e)),
            };
            let f = |k| fdinfo_field(std::os::fd::AsFd::as_fd(&fd), k);
            if let Some(id) = f("map_id")? {
                maps.insert(id as u32, f("memlock")?.unwrap_or(0));
            } else if f("link_id")?.is_some() {
                // a link: its program (a link that lost it, as a detached XDP link, has none)
                if let Some(id) = f("prog_id")?.filter(|id| *id != 0)
                    && !progs.contains_key(&(id as u32))
                    && let Some(p) = prog_fd_by_id(id as u32)?
                {
                    let m = fdinfo_field(std::os::fd::AsFd::as_fd(&p), "memlock")?;
                    progs.insert(id as u32, m.unwrap_or(0));
                    prog_fds.push(p);
                }
            } else if let Some(id) = f("prog_id")?
                && let std::collections::btree_map::Entry::Vacant(e) = progs.entry(id as u32)
            {
                e.insert(f("memlock")?.unwrap_or(0));
                prog_fds.push(fd);
            }
        }
    }
    for p in &prog_fds {
        for id in prog_map_ids(std::os::fd::AsFd::as_fd(p))? {
            if maps.contains_key(&id) {
                continue;
            }
            if let Some(m) = map_fd_by_id(id)? {
                let memlock = fdinfo_field(std::os::fd::AsFd::as_fd(&m), "memlock")?;
                maps.insert(id, memlock.unwrap_or(0));
            }
        }
    }
    Ok(BpfUsage {
        memlock_bytes: progs.values().sum::<u64>() + maps.values().sum::<u64>(),
        programs: progs.into_keys().collect(),
        maps: maps.into_keys().collect(),
    })
}

/// How many BPF programs the kernel holds, machine-wide (`BPF_PROG_GET_NEXT_ID` walked to
/// its end: what `bpftool prog list` counts).
pub fn prog_count() -> io::Result<usize> {
    const BPF_PROG_GET_NEXT_ID: libc::c_long = 11;
    #[repr(C, align(8))]
    struct NextId {
        start_id: u32,
        next_id: u32,
        open_flags: u32,
        _pad: u32,
    }
    let mut n = 0;
    let mut a = NextId {
        start_id: 0,
        next_id: 0,
        open_flags: 0,
        _pad: 0,
    };
    loop {
        match bpf_raw(BPF_PROG_GET_NEXT_ID, &mut a) {
            Ok(_) => {
                n += 1;
                a.start_id = a.next_id;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(n),
            Err(e) => return Err(e),
        }
    }
}
