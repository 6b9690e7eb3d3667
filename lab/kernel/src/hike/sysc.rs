//! The one raw `bpf(2)` command the HIKe control plane needs that neither aya nor
//! `crate::sys` offers for byte-level keys: `BPF_MAP_DELETE_ELEM`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

const BPF_MAP_DELETE_ELEM: libc::c_long = 3;

#[repr(C, align(8))]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// Deletes `key`; `Ok(false)` when it was absent.
pub fn delete(fd: BorrowedFd<'_>, key: &[u8]) -> io::Result<bool> {
    let mut a = MapElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        ..Default::default()
    };
    // SAFETY: `a` is a valid bpf_attr prefix of the size passed; `key` outlives the call and
    // has the map's key size (callers pass the key they read or built for this map).
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_MAP_DELETE_ELEM,
            &mut a as *mut MapElemAttr,
            std::mem::size_of::<MapElemAttr>(),
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOENT) {
        Ok(false)
    } else {
        Err(e)
    }
}
