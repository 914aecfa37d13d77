//! The progress bar of long runs: drawn on a terminal, silent otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use scorewell_io::Extent;

/// Progress of a scoring run, counted in rows when the total is known, else in input bytes.
pub struct Progress {
    bar: ProgressBar,
    by_bytes: bool,
    rows: u64,
    started: std::time::Instant,
}

impl Progress {
    /// A bar for `extent`, hidden when `quiet` or stderr is not a terminal.
    pub fn new(extent: Extent, quiet: bool) -> Self {
        let visible = !quiet && std::io::stderr().is_terminal();
        let (len, by_bytes, template) = match extent {
            Extent::Rows(n) => (
                n,
                false,
                "{spinner:.green} [{elapsed_precise}] [{wide_bar:.cyan/blue}] {human_pos}/{human_len} rows ({msg}, ETA {eta})",
            ),
            Extent::Bytes(n) => (
                n,
                true,
                "{spinner:.green} [{elapsed_precise}] [{wide_bar:.cyan/blue}] {bytes}/{total_bytes} {msg} (ETA {eta})",
            ),
        };
        let bar = if visible {
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(8))
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        Self {
            bar,
            by_bytes,
            rows: 0,
            started: std::time::Instant::now(),
        }
    }

    /// Record `rows` more rows scored, with `bytes_read` of input consumed so far.
    pub fn advance(&mut self, rows: u64, bytes_read: u64) {
        self.rows += rows;
        // Our own rate in whole rows (indicatif's `{per_sec}` prints "143,453.0889/s").
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = HumanCount((self.rows as f64 / secs) as u64);
        if self.by_bytes {
            self.bar.set_position(bytes_read);
            self.bar
                .set_message(format!("{} rows, {rate} rows/s", HumanCount(self.rows)));
        } else {
            self.bar.set_position(self.rows);
            self.bar.set_message(format!("{rate} rows/s"));
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
