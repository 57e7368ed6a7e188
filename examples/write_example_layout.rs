//! Regenerates the example OCI layouts under `examples/` that the README's dry run uses:
//! `cargo run --example write_example_layout`. The output is deterministic.

use std::path::Path;

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let single = root.join("hello");
    let multi = root.join("hello-multiarch");
    for dir in [&single, &multi] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
    }
    let digest = ecr_fanout::image::fixtures::write_single_manifest_layout(
        &single,
        "hello",
        &[64 * 1024, 16 * 1024],
    )?;
    println!("{}: {digest}", single.display());
    let digest = ecr_fanout::image::fixtures::write_multi_platform_layout(&multi, "hello")?;
    println!("{}: {digest}", multi.display());
    Ok(())
}
