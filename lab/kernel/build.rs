// include_dir! embeds the prebuilt objects and the HIKe headers; rebuild when they change.
fn main() {
    println!("cargo:rerun-if-changed=../../ebpf-modules/obj");
    println!("cargo:rerun-if-changed=../../ebpf-modules/include");
}
