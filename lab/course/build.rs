// include_dir! embeds lessons/ at compile time; tell cargo to rebuild when a file there is
// added or changed (it scans the whole directory).
fn main() {
    println!("cargo:rerun-if-changed=../../lessons");
}
