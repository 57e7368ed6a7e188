//! Upload progress on stderr while phase 1 runs, read from each region's byte counter. With a
//! terminal: one live bar per region (indicatif), and log lines are written around the bars
//! through [`LogWriter`]. Without one (CI): every [`LINE_INTERVAL`] a log line per region
//! still uploading, with bytes sent, percent and the rate since the previous line.

use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::human::human_bytes;
use crate::observer::UploadProgress;

/// How often a line per region is logged when stderr is not a terminal.
pub const LINE_INTERVAL: Duration = Duration::from_secs(5);
/// How often the terminal bars are redrawn.
const BAR_INTERVAL: Duration = Duration::from_millis(100);

/// A running reporter (a thread of its own, so that stopping it needs no `await`);
/// [`UploadBars::finish`] stops it after a last update. Dropped unfinished, it stops too,
/// unwaited.
pub struct UploadBars {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts reporting; nothing is shown when no region has bytes to upload.
pub fn start(regions: Vec<UploadProgress>) -> UploadBars {
    if regions.iter().all(|r| r.total == 0) {
        return UploadBars {
            stop: None,
            thread: None,
        };
    }
    let (stop, stopped) = mpsc::channel();
    let thread = if std::io::stderr().is_terminal() {
        std::thread::spawn(move || draw_bars(&regions, &stopped))
    } else {
        std::thread::spawn(move || log_lines(regions, &stopped))
    };
    UploadBars {
        stop: Some(stop),
        thread: Some(thread),
    }
}

impl UploadBars {
    /// Stops the reporter and waits for its last update.
    pub fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn log_lines(regions: Vec<UploadProgress>, stopped: &mpsc::Receiver<()>) {
    let mut lines = ProgressLines::new(regions, Instant::now());
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(LINE_INTERVAL) {
        for line in lines.due(Instant::now()) {
            tracing::info!("{line}");
        }
    }
}

/// The line-mode state: what each region had sent at the previous line.
pub struct ProgressLines {
    regions: Vec<UploadProgress>,
    previous: Vec<(u64, Instant)>,
    complete: Vec<bool>,
}

impl ProgressLines {
    pub fn new(regions: Vec<UploadProgress>, now: Instant) -> Self {
        let previous = vec![(0, now); regions.len()];
        let complete = regions.iter().map(|r| r.total == 0).collect();
        Self {
            regions,
            previous,
            complete,
        }
    }

    /// The lines to log at `now`: one per region not yet complete; a region's 100 % line is
    /// its last.
    pub fn due(&mut self, now: Instant) -> Vec<String> {
        let mut lines = Vec::new();
        for (i, region) in self.regions.iter().enumerate() {
            if self.complete[i] {
                continue;
            }
            let sent = region.sent.load(Ordering::Relaxed).min(region.total);
            let (before, then) = self.previous[i];
            let seconds = now.saturating_duration_since(then).as_secs_f64();
            let rate = if seconds > 0.0 {
                (sent.saturating_sub(before) as f64 / seconds) as u64
            } else {
                0
            };
            lines.push(format!(
                "uploading to {}: {} of {} ({}%), {}/s",
                region.id,
                human_bytes(sent),
                human_bytes(region.total),
                sent * 100 / region.total,
                human_bytes(rate)
            ));
            self.previous[i] = (sent, now);
            self.complete[i] = sent >= region.total;
        }
        lines
    }
}

/// The bars currently drawn, for [`LogWriter`].
static ACTIVE_BARS: Mutex<Option<MultiProgress>> = Mutex::new(None);

fn draw_bars(regions: &[UploadProgress], stopped: &mpsc::Receiver<()>) {
    let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix:>16} [{bar:30}] {bytes:>10} / {total_bytes:<10} {percent:>3}% {binary_bytes_per_sec:>12} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let shown: Vec<(ProgressBar, &UploadProgress)> = regions
        .iter()
        .filter(|r| r.total > 0)
        .map(|r| {
            let bar = bars.add(ProgressBar::new(r.total));
            bar.set_style(style.clone());
            bar.set_prefix(r.id.clone());
            (bar, r)
        })
        .collect();
    let _active = ActiveBars::set(&bars);
    let mut stop = false;
    loop {
        for (bar, region) in &shown {
            bar.set_position(region.sent.load(Ordering::Relaxed).min(region.total));
        }
        if stop {
            // The log's "uploaded blobs" line per region takes over from the bars.
            shown.iter().for_each(|(bar, _)| bar.finish_and_clear());
            return;
        }
        stop = !matches!(
            stopped.recv_timeout(BAR_INTERVAL),
            Err(RecvTimeoutError::Timeout)
        );
    }
}

/// Registers bars for [`LogWriter`] while drawn; unregisters when dropped (also on a panic).
struct ActiveBars;

impl ActiveBars {
    fn set(bars: &MultiProgress) -> Self {
        if let Ok(mut active) = ACTIVE_BARS.lock() {
            *active = Some(bars.clone());
        }
        Self
    }
}

impl Drop for ActiveBars {
    fn drop(&mut self) {
        if let Ok(mut active) = ACTIVE_BARS.lock() {
            *active = None;
        }
    }
}

/// The log writer (`tracing_subscriber::fmt().with_writer(LogWriter)`): stderr, with any
/// progress bars lifted while a log line is written so that neither garbles the other.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bars = ACTIVE_BARS.lock().ok().and_then(|active| active.clone());
        let write = || std::io::stderr().lock().write_all(buf).map(|()| buf.len());
        match bars {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    use super::*;

    fn region(name: &str, total: u64) -> (UploadProgress, Arc<AtomicU64>) {
        let sent = Arc::new(AtomicU64::new(0));
        let progress = UploadProgress {
            id: name.to_string(),
            total,
            sent: sent.clone(),
        };
        (progress, sent)
    }

    #[test]
    fn lines_show_bytes_percent_and_rate_until_complete() {
        let (east, east_sent) = region("us-east-1", 4 * 1024 * 1024);
        let (west, _) = region("eu-west-1", 0);
        let (south, south_sent) = region("ap-south-1", 1024 * 1024);
        let start = Instant::now();
        let mut lines = ProgressLines::new(vec![east, west, south], start);

        east_sent.store(1024 * 1024, Ordering::Relaxed);
        south_sent.store(1024 * 1024, Ordering::Relaxed);
        let first = lines.due(start + Duration::from_secs(2));
        assert_eq!(
            first,
            [
                "uploading to us-east-1: 1.0 MiB of 4.0 MiB (25%), 512.0 KiB/s",
                "uploading to ap-south-1: 1.0 MiB of 1.0 MiB (100%), 512.0 KiB/s",
            ]
        );

        east_sent.store(3 * 1024 * 1024, Ordering::Relaxed);
        let second = lines.due(start + Duration::from_secs(4));
        assert_eq!(
            second,
            ["uploading to us-east-1: 3.0 MiB of 4.0 MiB (75%), 1.0 MiB/s"]
        );
    }

    #[test]
    fn resent_bytes_do_not_go_past_one_hundred_percent() {
        let (east, sent) = region("us-east-1", 1000);
        let start = Instant::now();
        let mut lines = ProgressLines::new(vec![east], start);
        sent.store(1500, Ordering::Relaxed);
        let line = lines.due(start + Duration::from_secs(1));
        assert_eq!(
            line,
            ["uploading to us-east-1: 1000 B of 1000 B (100%), 1000 B/s"]
        );
        assert!(lines.due(start + Duration::from_secs(2)).is_empty());
    }
}
