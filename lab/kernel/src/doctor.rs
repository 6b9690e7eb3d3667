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
    find_in(names, std::env::split_paths(&path))
}

fn find_in(names: &[&str], dirs: impl Iterator<Item = std::path::PathBuf>) -> Option<String> {
    let dirs: Vec<_> = dirs.collect();
    for n in names {
        for d in &dirs {
            let p = d.join(n);
            if p.is_file() {
                return Some(p.display().to_string());
            }
        }
    }
    None
}

/// Where Debian and Ubuntu put administrators' tools (bpftool is in /usr/sbin), which a
/// user's PATH may lack.
pub(crate) const SBIN: [&str; 3] = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// A tool of the field (`bpftool`, `bpftrace`): on the PATH or in an sbin folder.
pub fn tool(name: &str) -> Option<String> {
    find_in_path(&[name]).or_else(|| find_in(&[name], SBIN.iter().map(std::path::PathBuf::from)))
}

/// The names of the programs [`tool`] finds: the files on the PATH and in the sbin folders
/// (for "did you mean" when a command is not found).
pub fn program_names() -> Vec<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut names: Vec<String> = std::env::split_paths(&path)
        .chain(SBIN.iter().map(std::path::PathBuf::from))
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The Python that has bcc's bindings (python3-bpfcc installs them for the system's
/// /usr/bin/python3, which a pyenv or venv on the PATH may hide).
pub const BCC_PYTHON: &str = "/usr/bin/python3";

/// Can the system's Python import bcc? (`None`: yes; else what it said.)
pub fn bcc_missing() -> Option<String> {
    match std::process::Command::new(BCC_PYTHON)
        .args(["-c", "import bcc"])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("import bcc failed")
                .to_string(),
        ),
        Err(e) => Some(format!("{BCC_PYTHON}: {e}")),
    }
}

/// The running kernel's headers, as bcc looks for them: `$BCC_KERNEL_SOURCE`, the build
/// tree of /lib/modules/RELEASE, or the kernel's own archive (CONFIG_IKHEADERS).
pub fn kernel_headers(release: &str) -> Option<String> {
    // bcc's own variable: a header tree the administrator points it at
    if let Some(dir) = std::env::var_os("BCC_KERNEL_SOURCE") {
        let dir = std::path::PathBuf::from(dir);
        if is_header_tree(&dir) {
            return Some(format!(
                "{} (BCC_KERNEL_SOURCE: headers you chose, maybe of another kernel version)",
                dir.display()
            ));
        }
    }
    let build = format!("/lib/modules/{release}/build/include");
    if Path::new(&build).is_dir() {
        return Some(format!("/lib/modules/{release}/build"));
    }
    let kh = "/sys/kernel/kheaders.tar.xz";
    Path::new(kh).exists().then(|| kh.to_string())
}

/// Does `dir` hold what bcc compiles against: the kernel's `include/linux/kconfig.h` and the
/// configured build's `include/generated/autoconf.h` (which kconfig.h includes first)?
/// Debian splits them: `linux-headers-R-common` has the first, `linux-headers-R-ARCH` the
/// second, and bcc pointed at either alone fails on its first line.
fn is_header_tree(dir: &Path) -> bool {
    dir.join("include/linux/kconfig.h").is_file()
        && dir.join("include/generated/autoconf.h").is_file()
}

/// Is tracefs (the tracepoints bpftrace attaches to) mounted?
pub fn tracefs() -> Option<&'static str> {
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .into_iter()
        .find(|d| Path::new(d).join("events").is_dir())
}

/// tracefs, mounted first at /sys/kernel/tracing when it is not yet and this process may
/// (root): what a step or check that runs bpftrace needs. A fresh machine (a CI runner, a
/// container) often has it unmounted, and bpftrace then finds no tracepoint.
pub fn ensure_tracefs() -> Option<&'static str> {
    tracefs().or_else(|| (privileged() && mount_tracefs()).then(tracefs).flatten())
}

/// The checks of the field's tools, from what was found (the lab itself needs none of
/// them; lesson 3 uses them all): every one missing says how to install it.
pub fn tool_checks(
    bpftool: Option<String>,
    bpftrace: Option<String>,
    tracefs: Option<&str>,
    bcc_missing: Option<String>,
    release: &str,
    headers: Option<String>,
) -> Vec<Check> {
    let setup =
        "or run `sudo ./setup.sh`, which installs the tools where the distribution has them";
    let mut out = Vec::new();
    out.push(match bpftool {
        Some(p) => check("bpftool", Level::Ok, p, ""),
        None => check(
            "bpftool",
            Level::Warn,
            "bpftool not found (PATH, /usr/sbin): lesson 3 looks at the lab's programs and maps with it",
            format!("sudo apt-get install bpftool (Ubuntu: linux-tools-common) {setup}"),
        ),
    });
    out.push(match bpftrace {
        Some(p) => check("bpftrace", Level::Ok, p, ""),
        None => check(
            "bpftrace",
            Level::Warn,
            "bpftrace not found: lesson 3 observes the lab's XDP programs with it",
            format!("sudo apt-get install bpftrace {setup}"),
        ),
    });
    out.push(match tracefs {
        Some(d) => check("tracefs", Level::Ok, format!("tracefs at {d}"), ""),
        None => check(
            "tracefs",
            Level::Warn,
            "tracefs is not mounted: bpftrace cannot attach to tracepoints (xdp:xdp_exception, ...)",
            "sudo mount -t tracefs tracefs /sys/kernel/tracing (or run `sudo eclat-lab doctor`)",
        ),
    });
    out.push(match bcc_missing {
        None => check("bcc", Level::Ok, format!("{BCC_PYTHON} imports bcc"), ""),
        Some(why) => check(
            "bcc",
            Level::Warn,
            format!("{BCC_PYTHON} cannot import bcc ({why}): lesson 3's bcc step needs it"),
            format!("sudo apt-get install python3-bpfcc bpfcc-tools {setup}"),
        ),
    });
    out.push(match headers {
        Some(h) => check(
            "headers",
            Level::Ok,
            format!("headers of Linux {release}: {h}"),
            "",
        ),
        None => check(
            "headers",
            Level::Warn,
            format!(
                "no headers of the running kernel (Linux {release}): bcc compiles its C against \
                 them when it starts, so lesson 3's bcc step is not possible on this machine"
            ),
            format!(
                "sudo apt-get install linux-headers-{release}; if apt has no such package, this \
                 kernel was not built by the distribution: boot a distribution kernel (the \
                 Vagrant box has one, with its headers), or point BCC_KERNEL_SOURCE at one \
                 folder holding both include/linux/kconfig.h and include/generated/autoconf.h \
                 of a nearby version (lesson 3 says how)"
            ),
        ),
    });
    out
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

    let release = kernel_version().map(|v| v.2).unwrap_or_default();
    let mut traced = tracefs();
    if traced.is_none() && mount_bpffs && priv_ok && mount_tracefs() {
        traced = tracefs();
    }
    out.extend(tool_checks(
        tool("bpftool"),
        tool("bpftrace"),
        traced,
        bcc_missing(),
        &release,
        kernel_headers(&release),
    ));

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

/// Mounts tracefs at /sys/kernel/tracing (where the kernel makes its mount point), as the
/// doctor mounts bpffs: true when it is there afterwards.
fn mount_tracefs() -> bool {
    let dir = Path::new("/sys/kernel/tracing");
    dir.is_dir()
        && nix::mount::mount(
            Some("tracefs"),
            dir,
            Some("tracefs"),
            nix::mount::MsFlags::MS_NOSUID
                | nix::mount::MsFlags::MS_NODEV
                | nix::mount::MsFlags::MS_NOEXEC,
            None::<&str>,
        )
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tools_are_reported_with_how_to_install_them() {
        let c = tool_checks(
            None,
            None,
            None,
            Some("No module named 'bcc'".into()),
            "6.18.4-x",
            None,
        );
        let by = |n: &str| {
            c.iter()
                .find(|c| c.name == n)
                .unwrap_or_else(|| panic!("{n}"))
        };
        for (name, fix) in [
            ("bpftool", "apt-get install bpftool"),
            ("bpftrace", "apt-get install bpftrace"),
            ("tracefs", "mount -t tracefs"),
            ("bcc", "python3-bpfcc"),
            ("headers", "linux-headers-6.18.4-x"),
        ] {
            let k = by(name);
            assert_eq!(k.level, Level::Warn, "{name}: the lab runs without it");
            assert!(k.fix.contains(fix), "{name}: {}", k.fix);
        }
        assert!(by("bcc").detail.contains("No module named 'bcc'"));
        assert!(
            by("headers")
                .detail
                .contains("not possible on this machine")
        );
        let ok = tool_checks(
            Some("/usr/sbin/bpftool".into()),
            Some("/usr/bin/bpftrace".into()),
            Some("/sys/kernel/tracing"),
            None,
            "6.1.0-1",
            Some("/lib/modules/6.1.0-1/build".into()),
        );
        assert!(
            ok.iter().all(|c| c.level == Level::Ok && c.fix.is_empty()),
            "{ok:?}"
        );
    }

    /// Debian's header packages, each alone, are not a tree bcc can use (the doctor said
    /// `ok` for `linux-headers-R-common` and bcc then stopped on `generated/autoconf.h`);
    /// the two merged are.
    #[test]
    fn a_header_tree_needs_kconfig_and_the_generated_autoconf() {
        let d = std::env::temp_dir().join(format!("eclat-headers-{}", std::process::id()));
        let common = d.join("common");
        let arch = d.join("arch");
        let merged = d.join("merged");
        for (root, files) in [
            (&common, &["include/linux/kconfig.h"][..]),
            (&arch, &["include/generated/autoconf.h"][..]),
            (
                &merged,
                &["include/linux/kconfig.h", "include/generated/autoconf.h"][..],
            ),
        ] {
            for f in files {
                let p = root.join(f);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, "").unwrap();
            }
        }
        assert!(!is_header_tree(&common), "-common alone");
        assert!(!is_header_tree(&arch), "-ARCH alone");
        assert!(is_header_tree(&merged));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn tools_are_found_in_sbin_folders_off_the_path() {
        let d = std::env::temp_dir().join(format!("eclat-doctor-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("bpftool"), "").unwrap();
        assert_eq!(
            find_in(&["bpftool"], [d.clone()].into_iter()),
            Some(d.join("bpftool").display().to_string())
        );
        assert_eq!(find_in(&["bpftrace"], [d.clone()].into_iter()), None);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
