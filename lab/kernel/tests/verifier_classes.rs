//! Every class of the verifier explainer, reproduced: a minimal C program per class, built
//! with clang-19 and loaded into this machine's kernel, whose REAL verifier log must be
//! classified as that class, with the advice for that kind of program (plain XDP or a HIKe
//! module). The explainer's tests on saved logs cannot notice when a kernel words things
//! differently; these can. Run as root (loading a program needs it).

use eclat_kernel::modules;
use eclat_model::verifier::{Class, Context};

/// The class of the first program of `src` the kernel rejects, with its explanation.
fn rejected(tag: &str, src: &str) -> eclat_model::verifier::Explanation {
    assert!(
        eclat_kernel::doctor::privileged(),
        "kernel tests need root (CI runs them as root)"
    );
    let dir = std::env::temp_dir().join(format!("eclat-lab-vclass-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{tag}.bpf.c"));
    std::fs::write(&file, src).unwrap();
    let rep = modules::build(&file, &dir.join("include"));
    std::fs::remove_dir_all(&dir).unwrap();
    let rep = rep.unwrap_or_else(|e| panic!("{tag}: clang: {e}"));
    let p = rep
        .programs
        .iter()
        .find(|p| !p.accepted)
        .unwrap_or_else(|| {
            panic!(
                "{tag}: the kernel accepted every program: {:?}",
                rep.programs
            )
        });
    p.explanation
        .clone()
        .unwrap_or_else(|| panic!("{tag}: no explanation for the log:\n{:?}", p.log))
}

fn expect(tag: &str, src: &str, class: Class) -> eclat_model::verifier::Explanation {
    let e = rejected(tag, src);
    assert_eq!(
        e.class, class,
        "{tag}: the kernel said `{}`, classified as {:?}",
        e.message, e.class
    );
    assert_eq!(e.advice, class.advice_in(e.context), "{tag}");
    e
}

const HEAD: &str = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n";
const LICENSE: &str = "char _license[] SEC(\"license\") = \"Dual MIT/GPL\";\n";

fn plain(body: &str) -> String {
    format!("{HEAD}{body}\n{LICENSE}")
}

/// A hash map: a lookup in it may give NULL (an array's lookup with a constant key in range
/// cannot, and the kernel knows it).
const ARRAY: &str = r#"
struct val { __u64 a[4]; };
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct val);
	__uint(max_entries, 4);
} arr SEC(".maps");
"#;

#[test]
fn packet_read_before_the_bounds_check() {
    let e = expect(
        "oob",
        &plain(
            r#"SEC("xdp") int p(struct xdp_md *ctx)
{
	unsigned char *d = (void *)(long)ctx->data;
	return d[12] == 0x86 ? XDP_DROP : XDP_PASS;
}"#,
        ),
        Class::PacketOutOfBounds,
    );
    assert_eq!(e.context, Context::Xdp);
    assert!(e.advice.contains("return XDP_PASS;"), "{}", e.advice);
    assert!(e.source.is_some_and(|s| s.text.contains("d[12]")));
}

#[test]
fn map_value_used_without_a_null_check() {
    expect(
        "nullmap",
        &plain(&format!(
            r#"{ARRAY}
SEC("xdp") int p(struct xdp_md *ctx)
{{
	__u32 k = 0;
	struct val *v = bpf_map_lookup_elem(&arr, &k);
	v->a[0]++;
	return XDP_PASS;
}}"#
        )),
        Class::NullMapValue,
    );
}

#[test]
fn access_past_the_end_of_a_map_value() {
    expect(
        "mapoob",
        &plain(&format!(
            r#"{ARRAY}
SEC("xdp") int p(struct xdp_md *ctx)
{{
	__u32 k = 0;
	struct val *v = bpf_map_lookup_elem(&arr, &k);
	if (!v)
		return XDP_PASS;
	v->a[4] = 1;	/* one past the last */
	return XDP_PASS;
}}"#
        )),
        Class::MapValueOutOfBounds,
    );
}

/// The learner's case: an index read from a map value, not checked, into the map value.
/// The kernel says `R0 unbounded memory access`: not a loop.
#[test]
fn an_unchecked_index_is_an_unbounded_access_not_a_loop() {
    // the index read from the map value, as an unsigned 32-bit or a 64-bit number
    let src = |index: &str| {
        plain(&format!(
            r#"{ARRAY}
SEC("xdp") int p(struct xdp_md *ctx)
{{
	__u32 k = 0;
	struct val *v = bpf_map_lookup_elem(&arr, &k);

	if (!v)
		return XDP_PASS;
	return ((__u8 *)v)[{index}] ? XDP_DROP : XDP_PASS;
}}"#
        ))
    };
    let e = expect("unbounded", &src("(__u32)v->a[0]"), Class::UnboundedAccess);
    assert!(
        e.message.contains("unbounded memory access"),
        "{}",
        e.message
    );
    assert!(!e.advice.contains("bpf_loop"), "{}", e.advice);
    // with a 64-bit index: pointer arithmetic the kernel refuses
    let e = expect("unboundedmin", &src("v->a[0]"), Class::UnboundedAccess);
    assert!(e.message.contains("unbounded min value"), "{}", e.message);
}

#[test]
fn a_loop_that_never_ends() {
    expect(
        "loop",
        &plain(
            r#"SEC("xdp") __attribute__((naked)) int p(struct xdp_md *ctx)
{
	asm volatile("r0 = 2;\n"
		     "l_%=: goto l_%=;\n" ::: "memory");
}"#,
        ),
        Class::UnboundedLoop,
    );
}

#[test]
fn too_many_instructions_to_verify() {
    expect(
        "toolarge",
        &plain(
            r#"SEC("xdp") int p(struct xdp_md *ctx)
{
	unsigned char *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u64 x = 0;

	if (d + 2 > end)
		return XDP_PASS;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 10000000; i++) {
		if ((i ^ d[0]) & 1)
			x += d[1];
		else
			x ^= i;
	}
	return x & 1 ? XDP_DROP : XDP_PASS;
}"#,
        ),
        Class::ProgramTooLarge,
    );
}

#[test]
fn a_gpl_only_helper_without_a_gpl_license() {
    let src = format!(
        "{HEAD}SEC(\"xdp\") int p(struct xdp_md *ctx)\n{{\n\tbpf_printk(\"hi\");\n\treturn XDP_PASS;\n}}\nchar _license[] SEC(\"license\") = \"Proprietary\";\n"
    );
    expect("gpl", &src, Class::GplOnlyHelper);
}

#[test]
fn a_register_read_before_it_is_written() {
    expect(
        "uninitreg",
        &plain(
            r#"SEC("xdp") __attribute__((naked)) int p(struct xdp_md *ctx)
{
	asm volatile("r0 = r5;\n"
		     "exit;\n" ::: "memory");
}"#,
        ),
        Class::UninitializedRegister,
    );
}

/// Root may read stack bytes nothing wrote (the kernel allows it to privileged loaders,
/// and the lab loads as root), so what reaches a learner is a read outside the 512-byte
/// frame.
#[test]
fn a_stack_read_outside_the_frame() {
    expect(
        "stack",
        &plain(
            r#"SEC("xdp") __attribute__((naked)) int p(struct xdp_md *ctx)
{
	asm volatile("r0 = *(u64 *)(r10 - 520);\n"
		     "exit;\n" ::: "memory");
}"#,
        ),
        Class::UninitializedStack,
    );
}

#[test]
fn a_helper_xdp_may_not_call() {
    expect(
        "helper",
        &plain(
            r#"SEC("xdp") int p(struct xdp_md *ctx)
{
	char buf[4];

	/* a socket buffer's helper: XDP has no skb */
	bpf_skb_load_bytes(ctx, 0, buf, sizeof(buf));
	return buf[0] ? XDP_DROP : XDP_PASS;
}"#,
        ),
        Class::UnknownHelper,
    );
}

#[test]
fn an_exit_without_a_return_value() {
    expect(
        "noreturn",
        &plain(
            r#"SEC("xdp") __attribute__((naked)) int p(struct xdp_md *ctx)
{
	asm volatile("exit;\n" ::: "memory");
}"#,
        ),
        Class::MissingReturn,
    );
}

/// The same mistake in a HIKe module: the advice says how a module gives up (HIKE_XDP_VM),
/// not `return XDP_PASS`.
#[test]
fn in_a_hike_module_the_advice_continues_the_chain() {
    let src = r#"#include <hike/api.h>
#include <hike/parse.h>
HIKE_PROG(peek)
{
	unsigned char *d = (void *)(long)ctx->data;

	HVM_RET = d[12];
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(peek);
char _license[] SEC("license") = "Dual MIT/GPL";
"#;
    let e = expect("module", src, Class::PacketOutOfBounds);
    assert_eq!(e.context, Context::HikeModule);
    assert!(e.advice.contains("return HIKE_XDP_VM;"), "{}", e.advice);
    assert!(!e.advice.contains("return XDP_PASS;"), "{}", e.advice);
}

/// Every class but `Other` has a reproduction above: a new class needs one.
#[test]
fn every_class_is_reproduced() {
    let here = include_str!("verifier_classes.rs");
    for c in Class::ALL {
        if c == Class::Other {
            continue;
        }
        let name = format!("Class::{c:?}");
        assert!(here.contains(&name), "no reproduction of {c:?}");
    }
}
