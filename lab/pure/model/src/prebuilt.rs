//! The lab's prebuilt plain (non-HIKe) XDP programs: what `xdp attach NAME` and a topology
//! file's `xdp = "NAME"` may name. Data only; `eclat-kernel::xdp` loads them.

/// A prebuilt plain XDP program.
#[derive(Debug)]
pub struct LabProgram {
    pub name: &'static str,
    /// the embedded object, relative to `ebpf-modules/obj/`
    pub object: &'static str,
    pub package: &'static str,
    pub about: &'static str,
}

pub const PROGRAMS: &[LabProgram] = &[
    LabProgram {
        name: "xdp_counter",
        object: "lab/xdp_counter.o",
        package: "lab",
        about: "counts packets in `pkt_count`, returns the verdict in `verdict` (PASS at load)",
    },
    LabProgram {
        name: "xdp_pass",
        object: "raw/xdp_pass.o",
        package: "lab",
        about: "returns XDP_PASS: lets a veth receive frames other XDP programs redirect to it",
    },
    LabProgram {
        name: "xdp_abort",
        object: "raw/xdp_abort.o",
        package: "lab",
        about: "returns XDP_ABORTED: a second program whose every packet is an exception (checks \
                use it to tell one program's aborts from another's)",
    },
    LabProgram {
        name: "lb_backend",
        object: "lab/lb_backend.o",
        package: "lab",
        about: "a load-balancer backend's receive side: counts packets per backend (`lb_rx`) and \
                per flow (`lb_rx_flows`), checks IPv4 and UDP checksums (`lb_rx_bad`), passes all",
    },
];

/// The prebuilt program called `name`.
pub fn find(name: &str) -> Option<&'static LabProgram> {
    PROGRAMS.iter().find(|p| p.name == name)
}

/// Their names, for messages: `xdp_counter, xdp_pass`.
pub fn names() -> String {
    PROGRAMS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}
