#![no_main]
// The body lives in crates/scorewell-fuzz, where tests/replay.rs also runs it.
libfuzzer_sys::fuzz_target!(
    init: scorewell_fuzz::init(),
    |data: &[u8]| {
        if let Some(t) = scorewell_fuzz::target("onnx") {
            (t.run)(data);
        }
    }
);
