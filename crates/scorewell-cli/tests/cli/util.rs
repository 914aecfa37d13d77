//! Helpers for the CLI tests: a scratch directory and a runner for the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory that disappears with the test.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write");
        p
    }
    /// Names of the files in the directory, sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.tmp.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// A conformance case folder, used as a source of real models and inputs.
pub fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/cases")
        .join(name)
}

/// The result of one `scorewell` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the built `scorewell` binary.
pub fn scorewell(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_scorewell"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("run scorewell");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// Assert success and return stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "scorewell failed:\n{}", self.stderr);
        &self.stdout
    }
    /// Assert failure with exit code 1 and a single `scorewell: ` error line; return it.
    pub fn err(&self) -> &str {
        assert_eq!(
            self.code, 1,
            "expected exit 1, got {}: {}{}",
            self.code, self.stdout, self.stderr
        );
        let line = self.stderr.trim_end();
        assert!(
            !line.contains('\n'),
            "expected one error line, got:\n{line}"
        );
        assert!(line.starts_with("scorewell: "), "{line}");
        assert!(!line.contains("panicked"), "{line}");
        line
    }
}
