//! Test helpers: tiny models written in the test, a real server on a loopback port, and a
//! minimal HTTP/1.1 client (so the tests see exactly the bytes the server sends).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use scorewell_server::{App, Config, ModelSpec, Repository};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A LightGBM text model: one split `features[0] <= 0.5`, leaves `left` and `right`
/// (regression, so the prediction is the leaf value). The other features are read but unused.
pub fn stump(features: &[&str], left: f64, right: f64) -> String {
    let infos = vec!["[0:1]"; features.len()].join(" ");
    format!(
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
         max_feature_idx={}\nobjective=regression\nfeature_names={}\nfeature_infos={infos}\n\
         tree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\n\
         threshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value={left} {right}\n\
         leaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\n\
         is_linear=0\nshrinkage=1\n\n\nend of trees\n",
        features.len() - 1,
        features.join(" "),
    )
}

/// A LightGBM text model of `trees` copies of [`stump`]'s tree: slow to score on purpose
/// (each row walks every tree), with a prediction of `trees × left` or `trees × right`.
pub fn forest(features: &[&str], trees: usize, left: f64, right: f64) -> String {
    let one = stump(features, left, right);
    let (head, rest) = one.split_once("Tree=0\n").expect("a tree");
    let (tree, _) = rest.split_once("\n\nend of trees").expect("the end");
    let head = head.replace(
        "tree_sizes=100",
        &format!("tree_sizes={}", vec!["100"; trees].join(" ")),
    );
    let mut out = head;
    for i in 0..trees {
        out.push_str(&format!("Tree={i}\n{tree}\n\n"));
    }
    out.push_str("end of trees\n");
    out
}

/// A conformance case folder (real models made by the original libraries).
pub fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/cases")
        .join(name)
}

/// A scratch folder.
pub struct Dir(pub tempfile::TempDir);

impl Dir {
    pub fn new() -> Self {
        Self(tempfile::tempdir().expect("tempdir"))
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write");
        p
    }
    /// Replace `name` atomically (write a hidden temp file, rename it over).
    pub fn replace(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let tmp = self.path(&format!(".{name}.tmp"));
        std::fs::write(&tmp, contents).expect("write");
        let p = self.path(name);
        std::fs::rename(&tmp, &p).expect("rename");
        p
    }
}

/// A server running on 127.0.0.1 with an OS-chosen port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub app: App,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(repo: Repository, config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = App::new(repo, config);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(scorewell_server::serve(listener, app.clone(), async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            app,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// A server for `models` (name, path) with `config`.
    pub async fn with_models(models: &[(&str, &Path)], config: Config) -> Self {
        let specs = models.iter().map(|(n, p)| ModelSpec::new(*n, *p)).collect();
        Self::start(Repository::open(specs, None).expect("open"), config).await
    }

    /// Begin a graceful shutdown.
    pub fn begin_stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Shut down and wait for the server to finish.
    pub async fn stop(mut self) {
        self.begin_stop();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("server stops within 10 s")
                .expect("server task")
                .expect("server result");
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        call(self.addr, "GET", path, &[], b"").await
    }

    pub async fn post(&self, path: &str, body: &str) -> Reply {
        call(self.addr, "POST", path, &[], body.as_bytes()).await
    }
}

/// A config that does not poll (tests reload explicitly unless they say otherwise).
pub fn quiet() -> Config {
    Config {
        poll_interval: None,
        ..Config::default()
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Assert the status and a JSON error body; return the message.
    pub fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{}",
            self.text()
        );
        let v = self.json();
        assert_eq!(v["code"], code, "{v}");
        v["error"].as_str().expect("error message").to_string()
    }
}

/// One request on a fresh connection.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut conn = Conn::open(addr).await;
    conn.send(method, path, headers, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// A keep-alive connection.
pub struct Conn {
    stream: BufReader<TcpStream>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream: BufReader::new(stream),
        }
    }

    /// Write the request head (and `body_prefix`), declaring `content_length` body bytes.
    pub async fn send_head(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        content_length: usize,
        body_prefix: &[u8],
    ) -> std::io::Result<()> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-length: {content_length}\r\n"
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).await?;
        s.write_all(body_prefix).await?;
        s.flush().await
    }

    pub async fn send_more(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let s = self.stream.get_mut();
        s.write_all(bytes).await?;
        s.flush().await
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        self.send_head(method, path, headers, body.len(), body)
            .await?;
        self.read_reply().await
    }

    pub async fn read_reply(&mut self) -> std::io::Result<Reply> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(&format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let find = |k: &str| headers.iter().find(|(h, _)| h == k).map(|(_, v)| v.clone());
        let mut body = Vec::new();
        if let Some(n) = find("content-length") {
            let n: usize = n.parse().map_err(|_| bad("content-length"))?;
            body.resize(n, 0);
            self.stream.read_exact(&mut body).await?;
        } else if find("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            loop {
                line.clear();
                self.stream.read_line(&mut line).await?;
                let n = usize::from_str_radix(line.trim(), 16).map_err(|_| bad("chunk size"))?;
                let mut chunk = vec![0; n + 2];
                self.stream.read_exact(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// A zipped bundle `fraud` version 7: a string indexer on `country` (labels NL, DE, unseen
/// kept), a stump model on its index (0.1 / 0.9) writing `score`, and a decision: `block` at
/// 0.5 or more, else `allow`.
pub fn fraud_bundle(dir: &Dir) -> std::path::PathBuf {
    let model = dir.write("m.txt", stump(&["country_index"], 0.1, 0.9));
    let spec = dir.write(
        "spec.yaml",
        "stages:\n  - {kind: string_indexer, name: idx, params: {input: country, output: country_index, labels: [NL, DE], handle_invalid: keep}}\n  - {kind: model, name: m, params: {output: score}}\ndecision: {score: score, rules: [{at_least: 0.5, label: block}], otherwise: allow}\n",
    );
    let bundle = scorewell::bundle::create(&scorewell::bundle::CreateOptions {
        name: "fraud".into(),
        version: "7".into(),
        models: vec![model],
        spec: Some(spec),
        ..Default::default()
    })
    .expect("bundle");
    let path = dir.path("fraud.zip");
    bundle.write(&path).expect("write");
    path
}

/// A bundle whose one stage looks `emb` (16 floats) up in an angular Annoy index (k 4) made by
/// annoy (tests/conformance/annoy), and that index, to compare with.
pub fn neighbors_bundle(dir: &Dir) -> (PathBuf, scorewell::neighbors::AnnoyIndex) {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/annoy/cases/angular_300x16");
    std::fs::copy(cases.join("index.ann"), dir.path("sig.ann")).expect("copy");
    let spec = dir.write(
        "spec.yaml",
        "inputs:\n  - {name: emb, type: vector}\nstages:\n  - kind: nearest_neighbors\n    name: sig\n    artifact: sig.ann\n    params: {metric: angular, dims: 16, input: emb, k: 4}\noutputs: [neighbors, distances]\n",
    );
    let bundle = scorewell::bundle::create(&scorewell::bundle::CreateOptions {
        name: "nn".into(),
        version: "1".into(),
        spec: Some(spec),
        ..Default::default()
    })
    .expect("bundle");
    let zip = dir.path("nn.zip");
    bundle.write(&zip).expect("write");
    let index = scorewell::neighbors::AnnoyIndex::open(
        cases.join("index.ann"),
        scorewell::neighbors::Metric::Angular,
        16,
    )
    .expect("index");
    (zip, index)
}
