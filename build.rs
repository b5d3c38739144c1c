//! Embeds the bundled samples so that `abgleich demo` works from an
//! installed binary, far from the source tree.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let outlook = root.join("samples/outlook");
    println!("cargo:rerun-if-changed=samples");
    let mut names: Vec<String> = std::fs::read_dir(&outlook)
        .expect("samples/outlook is part of the source tree")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".vcf"))
        .collect();
    names.sort();
    let mut code = String::from(
        "/// The sample address book: (file name, bytes).\npub const OUTLOOK: &[(&str, &[u8])] = &[\n",
    );
    // The path is joined when the crate compiles, from its own manifest
    // folder: a build directory shared by two checkouts then never reads
    // the samples of the other one.
    for name in names {
        let rel = format!("/samples/outlook/{name}");
        writeln!(
            code,
            "    ({name:?}, include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {rel:?}))),"
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("samples.rs");
    std::fs::write(out, code).unwrap();
}
