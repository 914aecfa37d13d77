//! Writes a fuzz target's seed corpus as files, for `scripts/fuzz.sh`:
//! `cargo run -p scorewell-fuzz --example seeds -- TARGET DIR` (or `--list` for the names).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--list") {
        for t in scorewell_fuzz::TARGETS {
            println!("{}", t.name);
        }
        return ExitCode::SUCCESS;
    }
    let [name, dir] = args.as_slice() else {
        eprintln!("usage: seeds TARGET DIR | --list");
        return ExitCode::from(2);
    };
    let Some(target) = scorewell_fuzz::target(name) else {
        eprintln!("seeds: no fuzz target `{name}` (try --list)");
        return ExitCode::from(2);
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("seeds: {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let seeds = (target.seeds)(&root);
    for (i, seed) in seeds.iter().enumerate() {
        let path = dir.join(format!("seed-{i:04}"));
        if let Err(e) = std::fs::write(&path, seed) {
            eprintln!("seeds: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    println!("{} seeds for {name} in {}", seeds.len(), dir.display());
    ExitCode::SUCCESS
}
