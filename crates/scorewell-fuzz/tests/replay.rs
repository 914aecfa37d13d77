//! Every fuzz target on its seeds and on seeded mutations of them (bit flips, truncations,
//! inserted and repeated bytes, cross-overs): what CI runs on each change so the harnesses keep
//! compiling and the seeds keep passing. The coverage-guided runs are `scripts/fuzz.sh`.

use std::path::Path;

use scorewell_fuzz::TARGETS;

/// Mutations per seed; the seed count varies by target, so the total stays small.
const MUTATIONS: usize = 24;

/// A small deterministic generator (xorshift), so a failing mutation can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(seed: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.truncate(at),
            2 => {
                let byte = [0u8, 0xff, b'"', b'{', b'-', b'9'][rng.below(6)];
                out.insert(at, byte);
            }
            3 if !out.is_empty() => {
                // A run of the data repeated: lengths and counts read twice.
                let end = (at + 1 + rng.below(16)).min(out.len());
                let start = at.min(end.saturating_sub(1));
                let run = out[start..end].to_vec();
                out.splice(start..start, run);
            }
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                let len = rng.below(64).min(other.len() - from);
                out.splice(at..at, other[from..from + len].iter().copied());
            }
            _ => {
                // Forged large numbers where lengths and sizes usually sit.
                let big = [0xffu8, 0xff, 0xff, 0x7f];
                out.splice(at..at, big);
            }
        }
    }
    out
}

#[test]
fn every_target_survives_its_seeds_and_their_mutations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for target in TARGETS {
        let started = std::time::Instant::now();
        let seeds = (target.seeds)(&root);
        assert!(!seeds.is_empty(), "{}: no seeds found", target.name);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.name.len() as u64);
        (target.run)(&[]);
        for input in scorewell_fuzz::regressions(target, &root) {
            (target.run)(&input);
        }
        for (i, seed) in seeds.iter().enumerate() {
            (target.run)(seed);
            let other = &seeds[(i + 1) % seeds.len()];
            for _ in 0..MUTATIONS {
                let input = mutate(seed, other, &mut rng);
                (target.run)(&input);
            }
        }
        // Shown with --nocapture: which targets make this test slow.
        println!(
            "{}: {} seeds × {MUTATIONS} mutations in {:.1?}",
            target.name,
            seeds.len(),
            started.elapsed()
        );
    }
}

/// The cargo-fuzz workspace is not built in CI (it needs nightly), so its one piece that can
/// drift is checked here: every target has its binary in `fuzz/` and every binary its target.
#[test]
fn every_target_has_a_cargo_fuzz_binary_and_no_binary_is_stale() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut binaries: Vec<String> = std::fs::read_dir(fuzz.join("fuzz_targets"))
        .expect("fuzz/fuzz_targets")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".rs")?.to_owned())
        })
        .collect();
    binaries.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|t| t.name.to_owned()).collect();
    names.sort();
    assert_eq!(binaries, names, "fuzz/fuzz_targets/*.rs against TARGETS");
    for entry in std::fs::read_dir(fuzz.join("dicts"))
        .expect("fuzz/dicts")
        .flatten()
    {
        let file = entry.file_name().into_string().unwrap_or_default();
        let target = file.strip_suffix(".dict").unwrap_or(&file);
        assert!(
            names.iter().any(|n| n == target),
            "fuzz/dicts/{file} names no target"
        );
    }
    for name in &names {
        let source = std::fs::read_to_string(fuzz.join(format!("fuzz_targets/{name}.rs")))
            .expect("target source");
        assert!(
            source.contains(&format!("scorewell_fuzz::target(\"{name}\")")),
            "fuzz_targets/{name}.rs runs another target"
        );
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\""
            )),
            "fuzz/Cargo.toml has no [[bin]] for {name}"
        );
    }
}
