//! aya's object loaders, one of each kind per process. aya 0.14's `EbpfLoader::new()` parses
//! the kernel's BTF itself (about 20 ms, tens of ms on a busy machine), whatever `.btf()` says
//! next: the lab keeps one loader per kind of object instead of making one per load.

use std::sync::{Mutex, OnceLock};

/// The kernel's BTF (`/sys/kernel/btf/vmlinux`), parsed once per process: aya parses it for
/// every `EbpfLoader::new()` otherwise, and a compiled chain loads one program instance per
/// call site.
pub fn kernel_btf() -> Option<&'static aya::Btf> {
    static BTF: OnceLock<Option<aya::Btf>> = OnceLock::new();
    BTF.get_or_init(|| aya::Btf::from_sys_fs().ok()).as_ref()
}

type Shared = Mutex<Option<aya::EbpfLoader<'static>>>;

/// Runs `f` with the loader kept in `slot`, made on first use with the kernel's BTF.
fn with_shared<R>(slot: &Shared, f: impl FnOnce(&mut aya::EbpfLoader<'static>) -> R) -> R {
    let mut loader = slot.lock().unwrap_or_else(|e| e.into_inner());
    f(loader.get_or_insert_with(|| {
        let mut l = aya::EbpfLoader::new();
        l.btf(kernel_btf());
        l
    }))
}

/// Runs `f` with this process's loader of HIKe objects. Sharing it is safe because each
/// object load sets the pin of every map its object declares, aya reads only the settings of
/// the maps an object has, and nothing sets a global here (compiled chains, which do, use
/// their own).
pub(crate) fn with_object_loader<R>(f: impl FnOnce(&mut aya::EbpfLoader<'static>) -> R) -> R {
    static LOADER: Shared = Mutex::new(None);
    with_shared(&LOADER, f)
}

/// Runs `f` with this process's loader of plain objects (the lab's XDP programs, a learner's
/// C file): nothing ever sets a map pin, a global or a limit on it, so every load through it
/// starts from aya's defaults with fresh maps.
pub(crate) fn with_plain_loader<R>(f: impl FnOnce(&mut aya::EbpfLoader<'static>) -> R) -> R {
    static LOADER: Shared = Mutex::new(None);
    with_shared(&LOADER, f)
}
