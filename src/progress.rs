//! What a run shows while it runs: a progress bar on a terminal, a plain line every five
//! seconds elsewhere (CI logs).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use streamproof_loadgen::Progress;

/// Shows load progress.
pub enum ProgressView {
    /// An indicatif bar.
    Bar(ProgressBar),
    /// Plain lines, and when the last one was printed.
    Lines(Mutex<Duration>),
}

impl ProgressView {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn new(total: Duration) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total.as_secs().max(1));
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len}s {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            ProgressView::Bar(bar)
        } else {
            ProgressView::Lines(Mutex::new(Duration::ZERO))
        }
    }

    /// Shows one progress report.
    pub fn update(&self, progress: &Progress) {
        let elapsed = progress.elapsed.as_secs_f64().max(1e-3);
        let text = format!(
            "sent {} ({:.0}/s) acked {} failed {} consumed {} p99 {:.1} ms lag {}",
            progress.sent,
            progress.sent as f64 / elapsed,
            progress.acked,
            progress.failed,
            progress.consumed,
            progress.last_p99_us as f64 / 1000.0,
            progress.lag
        );
        match self {
            ProgressView::Bar(bar) => {
                bar.set_position(progress.elapsed.as_secs().min(progress.total.as_secs()));
                bar.set_message(text);
            }
            ProgressView::Lines(last) => {
                let Ok(mut last) = last.lock() else { return };
                if progress.elapsed >= *last + Duration::from_secs(5) {
                    *last = progress.elapsed;
                    let left = progress.total.saturating_sub(progress.elapsed).as_secs();
                    eprintln!("[{:>4}s, {left}s left] {text}", progress.elapsed.as_secs());
                }
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let ProgressView::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
