//! `bootstrap`: scorewell as an AWS Lambda function (`provided.al2023`).
//!
//! At init it fetches, verifies and builds the models `SCOREWELL_MODEL` names, once per
//! execution environment; a failure is posted to the Runtime API's init error with the
//! precise message. Then it answers every event kind through the same axum app as
//! `scorewell serve` (see docs/DEPLOY.md).

mod config;
mod init_error;
mod routing;

use std::process::ExitCode;

fn main() -> ExitCode {
    init_logging();
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!(
            "bootstrap: AWS_LAMBDA_RUNTIME_API is not set; this binary runs inside AWS Lambda \
             (use `scorewell serve` anywhere else)"
        );
        return ExitCode::from(2);
    }
    // API Gateway stages are a deployment detail, not part of scorewell's paths: `/prod/v1/…`
    // must reach `/v1/…`. lambda_http reads this variable per request; set it while this is
    // still the only thread.
    if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_none() {
        // SAFETY: no other thread exists yet (the runtime starts below).
        unsafe { std::env::set_var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "1") };
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return init_error::report(&format!("cannot start the runtime: {e}")),
    };
    let app = match config::Models::from_env().and_then(|m| m.open()) {
        Ok(app) => app,
        Err(message) => return init_error::report(&message),
    };
    let service = routing::service(app);
    match runtime.block_on(lambda_http::run(service)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// Log lines on stderr, which Lambda sends to CloudWatch; `RUST_LOG` picks the level.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time() // CloudWatch stamps every line
        .try_init();
}
