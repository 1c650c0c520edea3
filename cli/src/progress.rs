//! The progress line of a long `ndgrad gradient` run: a spinner on stderr
//! with the stage the run is in and the time elapsed, drawn only when stderr
//! is a terminal and only once the run has lasted [`DELAY`], so that short
//! runs, pipes and log files see nothing but the one summary line.
//!
//! The library computes every axis in one call and reports no progress of
//! its own, so the line names the stage (reading, computing, writing) rather
//! than a fraction.

use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run lasts before its progress line appears.
pub const DELAY: Duration = Duration::from_secs(2);

/// The spinner of the run in progress, for [`stage`].
static CURRENT: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// The progress line of a run: shown after [`DELAY`] while it lives,
/// cleared when it is dropped.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    /// Dropped to tell the thread that would show the line that the run is over.
    stop: Option<mpsc::Sender<()>>,
    shower: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the run's progress line, hidden for now; with `enabled` false,
    /// or when stderr is not a terminal, it is never shown.
    pub fn start(enabled: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress {
                bar,
                stop: None,
                shower: None,
            };
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let shown = bar.clone();
        let shower = std::thread::Builder::new()
            .name("ndgrad-progress".into())
            .spawn(move || {
                // Nothing is ever sent: the run ended when the sender is dropped.
                if let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(DELAY) {
                    shown.set_draw_target(ProgressDrawTarget::stderr());
                    shown.enable_steady_tick(Duration::from_millis(120));
                }
            })
            .ok();
        Progress {
            bar,
            stop: Some(stop),
            shower,
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(shower) = self.shower.take() {
            // A panicked thread only failed to draw.
            let _ = shower.join();
        }
        self.bar.finish_and_clear();
        *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Names the stage the run is in (`reading input "f.npy"`, ...), on the
/// progress line of the run in progress, if any.
pub fn stage(message: impl Into<String>) {
    if let Some(bar) = CURRENT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
    {
        bar.set_message(message.into());
    }
}
