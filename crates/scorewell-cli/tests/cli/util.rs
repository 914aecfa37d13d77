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

/// A one-split LightGBM regression stump on `x`: 1.0 below 0.5, 2.0 above.
pub const STUMP: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective=regression\nfeature_names=x\nfeature_infos=[0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n";

/// Read `scorewell serve --log-format json` log lines until the one saying where it listens;
/// the port.
pub fn listening_port(logs: &mut impl std::io::BufRead) -> u16 {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(logs.read_line(&mut line).expect("log") > 0, "exited early");
        let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        if let Some(addr) = event["message"]
            .as_str()
            .and_then(|m| m.strip_prefix("listening on http://"))
        {
            return addr
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("a port");
        }
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port`; the raw response.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}
