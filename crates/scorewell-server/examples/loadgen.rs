//! A bounded HTTP/1.1 load generator for loopback benchmarks (`bench/serve/run.py`).
//!
//! Keeps `--connections` keep-alive connections busy, each sending the same POST body back to
//! back, for `--duration` seconds after `--warmup` seconds, then prints one JSON line:
//! requests, errors (non-2xx or broken connections), req/s and latency percentiles.
//!
//! ```text
//! cargo run --release -p scorewell-server --example loadgen -- \
//!     --addr 127.0.0.1:8080 --path /v1/models/m/score --body-file row.json \
//!     --connections 32 --duration 10 --warmup 2 --threads 1
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Opts {
    addr: SocketAddr,
    path: String,
    body: Vec<u8>,
    connections: usize,
    duration: f64,
    warmup: f64,
    threads: usize,
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "loadgen: {msg}\nusage: loadgen --addr HOST:PORT --path PATH --body-file FILE \
         [--connections N] [--duration S] [--warmup S] [--threads T]"
    );
    std::process::exit(2)
}

fn opts() -> Opts {
    let mut args = std::env::args().skip(1);
    let mut o = Opts {
        addr: "127.0.0.1:8080".parse().unwrap_or_else(|_| usage("addr")),
        path: "/".into(),
        body: Vec::new(),
        connections: 32,
        duration: 10.0,
        warmup: 2.0,
        threads: 1,
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let bad = || -> ! { usage(&format!("bad value for {flag}: {value}")) };
        match flag.as_str() {
            "--addr" => o.addr = value.parse().unwrap_or_else(|_| usage("bad --addr")),
            "--path" => o.path = value.clone(),
            "--body-file" => {
                o.body = std::fs::read(&value).unwrap_or_else(|e| usage(&format!("{value}: {e}")))
            }
            "--connections" => o.connections = value.parse().unwrap_or_else(|_| bad()),
            "--duration" => o.duration = value.parse().unwrap_or_else(|_| bad()),
            "--warmup" => o.warmup = value.parse().unwrap_or_else(|_| bad()),
            "--threads" => o.threads = value.parse().unwrap_or_else(|_| bad()),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    o
}

/// Per-connection results: latencies of measured requests, and errors.
#[derive(Default)]
struct Tally {
    /// Nanoseconds: single-row answers take tens of microseconds, and a comparison of two
    /// of them needs finer steps than whole microseconds.
    latencies_ns: Vec<u64>,
    errors: u64,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The status and total length (head + body) of the response at the start of `buf`, once the
/// head is complete.
fn parse_head(buf: &[u8]) -> Option<(u16, usize)> {
    let end = find(buf, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let len = head
        .split("\r\n")
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    Some((status, end + len))
}

async fn connection(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut buf = vec![0u8; 64 * 1024];
    'reconnect: while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tally.errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            if stream.write_all(&request).await.is_err() {
                tally.errors += 1;
                continue 'reconnect;
            }
            let mut filled = 0;
            let (status, total) = loop {
                if let Some(parsed) = parse_head(&buf[..filled]) {
                    break parsed;
                }
                if filled == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
                match stream.read(&mut buf[filled..]).await {
                    Ok(0) | Err(_) => {
                        tally.errors += 1;
                        continue 'reconnect;
                    }
                    Ok(n) => filled += n,
                }
            };
            while filled < total {
                if buf.len() < total {
                    buf.resize(total, 0);
                }
                match stream.read(&mut buf[filled..]).await {
                    Ok(0) | Err(_) => {
                        tally.errors += 1;
                        continue 'reconnect;
                    }
                    Ok(n) => filled += n,
                }
            }
            if measuring.load(Ordering::Relaxed) {
                if (200..300).contains(&status) {
                    let ns = started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
                    tally.latencies_ns.push(ns);
                } else {
                    tally.errors += 1;
                }
            }
        }
    }
    tally
}

fn main() {
    let o = opts();
    let mut request = format!(
        "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        o.path,
        o.addr,
        o.body.len()
    )
    .into_bytes();
    request.extend_from_slice(&o.body);
    let request = Arc::new(request);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.threads.max(1))
        .enable_all()
        .build()
        .unwrap_or_else(|e| usage(&format!("runtime: {e}")));
    let (tallies, measured) = runtime.block_on(async {
        let measuring = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..o.connections)
            .map(|_| {
                tokio::spawn(connection(
                    o.addr,
                    request.clone(),
                    measuring.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_secs_f64(o.warmup)).await;
        measuring.store(true, Ordering::Relaxed);
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(o.duration)).await;
        measuring.store(false, Ordering::Relaxed);
        let measured = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let mut tallies = Vec::new();
        for t in tasks {
            if let Ok(tally) = tokio::time::timeout(Duration::from_secs(5), t).await {
                tallies.extend(tally.ok());
            }
        }
        (tallies, measured)
    });
    let mut all: Vec<u64> = tallies
        .iter()
        .flat_map(|t| t.latencies_ns.iter().copied())
        .collect();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (all.len() - 1) as f64).round() as usize;
        all[i.min(all.len() - 1)] as f64 / 1e6
    };
    let secs = measured.as_secs_f64();
    println!(
        "{{\"requests\":{},\"errors\":{},\"seconds\":{:.3},\"rps\":{:.1},\"p50_ms\":{:.4},\"p90_ms\":{:.4},\"p99_ms\":{:.4},\"max_ms\":{:.3},\"connections\":{},\"threads\":{}}}",
        all.len(),
        errors,
        secs,
        all.len() as f64 / secs,
        pct(50.0),
        pct(90.0),
        pct(99.0),
        pct(100.0),
        o.connections,
        o.threads
    );
}
