//! The lab's pure data model: what it reads from files and from the kernel's text, turned into
//! data, with no I/O: topology files (`topology`), the learners' packet syntax (`packetspec`),
//! verifier logs explained (`verifier`), a C file's diagnostics (clang's, and a verifier rejection's) as data
//! (`cdiag`), a bpftrace program's errors in the same shape (`btdiag`), what an object's BTF
//! and ELF sections say (`btf`, `meta`), map bytes decoded through BTF layouts (`display`), MAC addresses (`mac`) and the
//! table of the lab's prebuilt plain XDP programs (`prebuilt`), and pictures of a topology, a
//! compiled chain and a packet's path through HIKe as SVG (`draw`), and a classroom of
//! learner labs on one server planned (`classroom`).
//!
//! Every parser here returns an error with a place (line:column, byte offset) instead of
//! panicking, whatever its input.

pub mod btdiag;
pub mod btf;
pub mod cdiag;
pub mod classroom;
pub mod display;
pub mod draw;
pub mod frame;
pub mod mac;
pub mod meta;
pub mod packetspec;
pub mod prebuilt;
pub mod topology;
pub mod verifier;
pub mod vm_classroom;
