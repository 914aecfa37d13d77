//! Reporting a failed init to the Lambda Runtime API, so the invocation that triggered it
//! fails with the precise reason (`Runtime.InitError`) instead of a bare exit status.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

/// Post `message` to `/runtime/init/error`, log it, and give the exit code to leave with.
pub fn report(message: &str) -> ExitCode {
    tracing::error!(error = %message, "init failed");
    if let Err(e) = post(message) {
        tracing::error!(error = %e, "could not report the init error to the Runtime API");
    }
    ExitCode::FAILURE
}

fn post(message: &str) -> std::io::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| std::io::Error::other("AWS_LAMBDA_RUNTIME_API is not set"))?;
    let body = serde_json::json!({
        "errorMessage": message,
        "errorType": "Runtime.InitError",
    })
    .to_string();
    // The Runtime API is plain HTTP on a local address; one request does not need a client.
    let mut conn = TcpStream::connect(&api)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Content-Type: application/json\r\n\
         Lambda-Runtime-Function-Error-Type: Runtime.InitError\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes())?;
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    Ok(())
}
