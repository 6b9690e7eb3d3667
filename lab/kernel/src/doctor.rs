//! Preflight checks: can this machine run the lab? Each check says what it found and, when
//! it fails, how to fix it.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Check {
    /// which check this is, a stable word: `privileges`, `kernel`, `btf`, `bpffs`, `jit`, `clang`,
    /// `lockdown`, `netns`, `ping`
    pub name: &'static str,
    /// `ok`, `warn` (the lab works, with a limit) or `fail` (the lab cannot run until it is fixed)
    pub level: Level,
    /// what the check found, one line for a person (a kernel version, a path, what is missing)
    pub detail: String,
    /// how to fix it (empty when ok)
    pub fix: String,
}

fn check(
    name: &'static str,
    level: Level,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    Check {
        name,
        level,
        detail: detail.into(),
        fix: fix.into(),
    }
}

/// Effective capability bits from /proc/self/status.
fn cap_eff() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:").map(|v| v.trim().to_string()))
        })
        .and_then(|v| u64::from_str_radix(&v, 16).ok())
        .unwrap_or(0)
}

const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_BPF: u32 = 39;

/// Does this process have what the lab needs to change the kernel?
pub fn privileged() -> bool {
    let c = cap_eff();
    let has = |b: u32| c & (1u64 << b) != 0;
    has(CAP_SYS_ADMIN) && has(CAP_NET_ADMIN) && (has(CAP_BPF) || has(CAP_SYS_ADMIN))
}

/// (major, minor) of the running kernel.
pub fn kernel_version() -> Option<(u32, u32, String)> {
    let u = nix::sys::utsname::uname().ok()?;
    let rel = u.release().to_string_lossy().into_owned();
    let mut it = rel.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor, rel))
}

fn find_in_path(names: &[&str]) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    for n in names {
        for d in std::env::split_paths(&path) {
            let p = d.join(n);
            if p.is_file() {
                return Some(p.display().to_string());
            }
        }
    }
    None
}

/// The clang the lab uses to build modules: `$ECLAT_LAB_CLANG`, `clang-19`, or `clang`.
pub fn clang() -> Option<String> {
    if let Ok(c) = std::env::var("ECLAT_LAB_CLANG") {
        return Some(c);
    }
    find_in_path(&["clang-19", "clang"])
}

/// Runs every check. `mount_bpffs` lets the doctor mount bpffs when it is missing.
pub fn run(mount_bpffs: bool) -> Vec<Check> {
    let mut out = Vec::new();
    let setup = "run `sudo ./setup.sh` from the repository";

    let priv_ok = privileged();
    out.push(if priv_ok {
        check(
            "privileges",
            Level::Ok,
            "running with CAP_SYS_ADMIN, CAP_NET_ADMIN and CAP_BPF",
            "",
        )
    } else {
        check(
            "privileges",
            Level::Fail,
            format!(
                "missing capabilities (uid {}): the lab creates namespaces and loads eBPF programs",
                nix::unistd::geteuid()
            ),
            "run the lab as root: `sudo eclat-lab ...` (reading lessons works without root)",
        )
    });

    out.push(match kernel_version() {
        Some((ma, mi, rel)) if (ma, mi) >= (6, 1) => {
            check("kernel", Level::Ok, format!("Linux {rel}"), "")
        }
        Some((ma, mi, rel)) if (ma, mi) >= (5, 17) => check(
            "kernel",
            Level::Warn,
            format!("Linux {rel}: works, but the lab is tested on 6.1 and newer"),
            "use a 6.x kernel (Debian 12, Ubuntu 24.04, or the Vagrant box in vagrant/)",
        ),
        Some((_, _, rel)) => check(
            "kernel",
            Level::Fail,
            format!("Linux {rel} is too old (BPF links for XDP and bpf_loop need 5.17+)"),
            "use a 6.x kernel, e.g. the Vagrant box: `cd vagrant && vagrant up`",
        ),
        None => check(
            "kernel",
            Level::Fail,
            "cannot read the kernel version",
            "check uname -r",
        ),
    });

    out.push(if Path::new("/sys/kernel/btf/vmlinux").exists() {
        check("btf", Level::Ok, "/sys/kernel/btf/vmlinux present", "")
    } else {
        check(
            "btf",
            Level::Warn,
            "the kernel has no BTF (/sys/kernel/btf/vmlinux missing): CO-RE modules cannot load",
            "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian and Ubuntu kernels are)",
        )
    });

    let bpffs = Path::new(crate::env::BPFFS_MOUNT);
    out.push(if crate::bpffs::is_bpffs(bpffs) {
        check("bpffs", Level::Ok, "bpffs mounted at /sys/fs/bpf", "")
    } else if mount_bpffs && priv_ok {
        match crate::bpffs::ensure_mounted() {
            Ok(_) => check(
                "bpffs",
                Level::Ok,
                "bpffs was not mounted: mounted it at /sys/fs/bpf",
                "",
            ),
            Err(e) => check(
                "bpffs",
                Level::Fail,
                e.to_string(),
                "mount -t bpf bpf /sys/fs/bpf",
            ),
        }
    } else {
        check(
            "bpffs",
            Level::Fail,
            "bpffs is not mounted at /sys/fs/bpf",
            "sudo mount -t bpf bpf /sys/fs/bpf (or run `sudo eclat-lab doctor`)",
        )
    });

    out.push(
        match std::fs::read_to_string("/proc/sys/net/core/bpf_jit_enable")
            .map(|s| s.trim().to_string())
        {
            Ok(v) if v == "1" || v == "2" => check("jit", Level::Ok, "the BPF JIT is on", ""),
            Ok(v) => check(
                "jit",
                Level::Warn,
                format!("bpf_jit_enable = {v}: programs are interpreted, benchmarks will be slow"),
                "sudo sysctl -w net.core.bpf_jit_enable=1",
            ),
            Err(_) => check(
                "jit",
                Level::Ok,
                "the JIT is always on (CONFIG_BPF_JIT_ALWAYS_ON)",
                "",
            ),
        },
    );

    out.push(match clang() {
        Some(c) => check("clang", Level::Ok, format!("{c} (needed only to build your own modules)"), ""),
        None => check(
            "clang",
            Level::Warn,
            "clang not found: the prebuilt programs work, but `module build` (lesson 2 and 9) needs it",
            format!("sudo apt-get install clang-19 ({setup})"),
        ),
    });

    out.push(match std::fs::read_to_string("/sys/kernel/security/lockdown") {
        Ok(s) if s.contains("[confidentiality]") => check(
            "lockdown",
            Level::Fail,
            "kernel lockdown is in confidentiality mode: it blocks BPF",
            "boot without lockdown=confidentiality (disable Secure Boot lockdown for the lab VM)",
        ),
        Ok(s) if s.contains("[integrity]") => check("lockdown", Level::Ok, "lockdown=integrity (BPF allowed)", ""),
        _ => check("lockdown", Level::Ok, "no lockdown", ""),
    });

    out.push(if Path::new("/proc/self/ns/net").exists() {
        check("netns", Level::Ok, "network namespaces supported", "")
    } else {
        check(
            "netns",
            Level::Fail,
            "the kernel has no network namespaces",
            "use a kernel with CONFIG_NET_NS=y",
        )
    });

    out.push(match find_in_path(&["ping"]) {
        Some(p) => check("ping", Level::Ok, p, ""),
        None => check(
            "ping",
            Level::Warn,
            "ping not found: lessons use it with `eclat-lab exec tg -- ping ...`",
            format!("sudo apt-get install iputils-ping ({setup})"),
        ),
    });
    out
}
