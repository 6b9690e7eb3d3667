//! aya's object loaders, one of each kind per process. aya 0.14's `EbpfLoader::new()` parses
//! the kernel's BTF itself (about 20 ms, 50-150 ms on a busy machine), whatever `.btf()` says
//! next: the lab keeps one loader per kind of object instead of making one per load, and
//! makes each where aya finds no kernel BTF to parse ([`new_loader`]). Each load then gets
//! the process's one parse of it ([`kernel_btf`]) only when the object has CO-RE relocations,
//! the one thing aya reads it for ([`btf_for`]): the lab's objects have none, so most
//! processes never parse it.

use std::sync::{Mutex, OnceLock};

/// The kernel's BTF (`/sys/kernel/btf/vmlinux`), parsed once per process: aya parses it for
/// every `EbpfLoader::new()` otherwise, and a compiled chain loads one program instance per
/// call site.
pub fn kernel_btf() -> Option<&'static aya::Btf> {
    static BTF: OnceLock<Option<aya::Btf>> = OnceLock::new();
    BTF.get_or_init(|| aya::Btf::from_sys_fs().ok()).as_ref()
}

/// The kernel's BTF a loader needs to load the object `data`: aya reads it only to relocate
/// the object's CO-RE accesses (`Object::relocate_btf`, nothing when the object has none), so
/// an object without CO-RE relocations gets none, and the kernel's BTF is not parsed for it
/// (`hike::stamp::linked` decides the same way). An object aya-obj cannot parse gets it:
/// aya's own error then says why.
pub(crate) fn btf_for(data: &[u8]) -> Option<&'static aya::Btf> {
    match aya_obj::Object::parse(data) {
        Ok(o) if !o.has_btf_relocations() => None,
        _ => kernel_btf(),
    }
}

type Shared = Mutex<Option<aya::EbpfLoader<'static>>>;

/// Runs `f` with the loader kept in `slot` (made on first use), set up with the kernel's BTF
/// that the object `data` needs ([`btf_for`]).
fn with_shared<R>(
    slot: &Shared,
    data: &[u8],
    f: impl FnOnce(&mut aya::EbpfLoader<'static>) -> R,
) -> R {
    let mut loader = slot.lock().unwrap_or_else(|e| e.into_inner());
    let l = loader.get_or_insert_with(new_loader);
    l.btf(btf_for(data));
    f(l)
}

/// `aya::EbpfLoader::new()` without its own parse of the kernel's BTF: made on a thread of
/// its own whose private mount namespace has an empty `/sys/kernel/btf`, so aya's
/// `Btf::from_sys_fs()` fails at once (the mount is never seen outside that thread, and goes
/// with it). The caller gives the loader [`kernel_btf`] next, as every loader of the lab
/// does ([`btf_for`]). Where the namespace cannot be made (no privilege), aya parses as before.
pub(crate) fn new_loader() -> aya::EbpfLoader<'static> {
    let made = std::thread::spawn(|| {
        if hide_kernel_btf().is_ok() {
            Some(aya::EbpfLoader::new())
        } else {
            None
        }
    })
    .join();
    match made {
        Ok(Some(l)) => l,
        _ => aya::EbpfLoader::new(),
    }
}

/// On the calling thread only: a mount namespace of its own (mounts private to it: nothing
/// propagates back), with an empty tmpfs over `/sys/kernel/btf`.
fn hide_kernel_btf() -> nix::Result<()> {
    use nix::mount::{MsFlags, mount};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )?;
    mount(
        Some("none"),
        "/sys/kernel/btf",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("size=4k"),
    )
}

/// Runs `f` with this process's loader of HIKe objects. Sharing it is safe because each
/// object load sets the pin of every map its object declares, aya reads only the settings of
/// the maps an object has, and nothing sets a global here (compiled chains, which do, use
/// their own).
pub(crate) fn with_object_loader<R>(
    data: &[u8],
    f: impl FnOnce(&mut aya::EbpfLoader<'static>) -> R,
) -> R {
    static LOADER: Shared = Mutex::new(None);
    with_shared(&LOADER, data, f)
}

/// Runs `f` with this process's loader of plain objects (the lab's XDP programs, a learner's
/// C file): nothing ever sets a map pin, a global or a limit on it, so every load through it
/// starts from aya's defaults with fresh maps.
pub(crate) fn with_plain_loader<R>(
    data: &[u8],
    f: impl FnOnce(&mut aya::EbpfLoader<'static>) -> R,
) -> R {
    static LOADER: Shared = Mutex::new(None);
    with_shared(&LOADER, data, f)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The empty `/sys/kernel/btf` is seen by the thread that made it alone: aya finds no
    /// kernel BTF there, and the rest of the process (every other loader, `bpftool`) still
    /// reads the real one, before and after.
    #[test]
    fn the_kernel_btf_is_hidden_from_one_thread_only() {
        let vmlinux = Path::new("/sys/kernel/btf/vmlinux");
        if !vmlinux.exists() || !nix::unistd::Uid::effective().is_root() {
            return; // nothing to hide, or no right to make a mount namespace
        }
        let seen = std::thread::spawn(move || {
            super::hide_kernel_btf().expect("a private mount namespace");
            vmlinux.exists()
        })
        .join()
        .unwrap();
        assert!(!seen, "the thread still sees the kernel's BTF");
        assert!(vmlinux.exists(), "the process lost the kernel's BTF");
        let _loader = super::new_loader();
        assert!(vmlinux.exists(), "making a loader hid the kernel's BTF");
    }
}
