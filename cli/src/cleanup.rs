//! Temporary files and directories that must not outlive an interrupted run.
//!
//! Every output is written to a temporary path beside its destination and
//! renamed over it once complete. This module keeps a process-wide registry
//! of those paths and, once [`install`] has run, handles SIGINT, SIGTERM and
//! SIGHUP: it removes every registered path, prints one line on stderr and
//! exits with the conventional code, 128 + the signal's number (130, 143,
//! 129).
//!
//! A path is registered by [`track`] or [`track_new`], which return a
//! [`Tracked`] guard; dropping the guard unregisters the path (after it was
//! renamed into place, or removed). A path may be a file or a directory;
//! directories are removed with everything in them.
//!
//! Registration and cleanup take the same lock, and the signal thread never
//! gives it back: once cleanup has started, no new path can be registered
//! (or, through [`track_new`], created) before the process exits.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

#[cfg(unix)]
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM};

/// The registered paths, each with the number of the guard that owns it (a
/// path may be registered twice, by two guards).
static REGISTRY: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());

/// The number the last guard got.
static LAST_ID: AtomicU64 = AtomicU64::new(0);

/// Locks the registry; a panic elsewhere while it was held does not stop cleanup.
fn registry() -> MutexGuard<'static, Vec<(u64, PathBuf)>> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the thread that handles SIGINT, SIGTERM and SIGHUP. Call it once,
/// first thing in `main`; before it runs, those signals kill the process
/// with the default action.
///
/// # Errors
///
/// The operating system's error when the handlers cannot be registered.
///
/// A signal the process was started with ignored stays ignored: `nohup`
/// ignores SIGHUP, and a shell starts background jobs with SIGINT ignored.
#[cfg(unix)]
pub fn install() -> io::Result<()> {
    let handled: Vec<i32> = [SIGINT, SIGTERM, SIGHUP]
        .into_iter()
        .filter(|&signal| !ignored(signal))
        .collect();
    let mut signals = signal_hook::iterator::Signals::new(handled)?;
    std::thread::Builder::new()
        .name("ndgrad-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                terminate(signal);
            }
        })?;
    Ok(())
}

/// Whether `signal`'s disposition is to be ignored (as `nohup` sets SIGHUP's).
#[cfg(target_os = "linux")]
fn ignored(signal: i32) -> bool {
    let mut old = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: with a null new action, sigaction only writes the current one
    // into `old`, which points to a writable sigaction.
    let status = unsafe { libc::sigaction(signal, std::ptr::null(), old.as_mut_ptr()) };
    // SAFETY: all-zero bytes are a valid sigaction (plain integers and a
    // signal set), and a successful call filled it in.
    status == 0 && unsafe { old.assume_init() }.sa_sigaction == libc::SIG_IGN
}

/// Where the disposition cannot be asked here, every signal is handled.
#[cfg(all(unix, not(target_os = "linux")))]
fn ignored(_signal: i32) -> bool {
    false
}

/// Elsewhere there are no such signals to handle.
///
/// # Errors
///
/// None.
#[cfg(not(unix))]
pub fn install() -> io::Result<()> {
    Ok(())
}

/// Removes every registered path, prints one line and exits with
/// 128 + `signal`, never giving the registry's lock back.
#[cfg(unix)]
fn terminate(signal: i32) -> ! {
    let paths = registry();
    let removed = paths.iter().filter(|(_, path)| remove(path)).count();
    let name = match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    };
    let what = match removed {
        0 => String::new(),
        1 => "; removed 1 temporary file".to_string(),
        n => format!("; removed {n} temporary files"),
    };
    let mut stderr = io::stderr().lock();
    // A progress bar may be drawn on the terminal's last line: clear it first.
    let clear = if stderr.is_terminal() {
        "\r\x1b[2K"
    } else {
        ""
    };
    // Nothing more can be done if stderr is gone.
    let _ = writeln!(stderr, "{clear}ndgrad: interrupted by {name}{what}");
    let _ = stderr.flush();
    std::process::exit(128 + signal);
}

/// Removes `path`, a file or a directory; whether something was removed.
/// Other threads may still be writing into a directory, so its removal is
/// retried a few times.
fn remove(path: &Path) -> bool {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !metadata.is_dir() {
        return std::fs::remove_file(path).is_ok();
    }
    (0..10).any(|_| std::fs::remove_dir_all(path).is_ok() || !path.exists())
}

/// A registered temporary path: removed if a signal ends the process while
/// the guard lives, forgotten when the guard is dropped. It does not remove
/// the path itself on drop; whoever made the path renames or removes it.
#[derive(Debug)]
#[must_use = "the path is unregistered as soon as the guard is dropped"]
pub struct Tracked {
    id: u64,
    path: PathBuf,
}

impl Tracked {
    /// The registered path.
    #[allow(dead_code, reason = "for callers that keep only the guard")]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        registry().retain(|(id, _)| *id != self.id);
    }
}

/// Registers `path` in `paths` under a new guard, with the registry already locked.
fn register(paths: &mut Vec<(u64, PathBuf)>, path: PathBuf) -> Tracked {
    let id = LAST_ID.fetch_add(1, Ordering::Relaxed) + 1;
    paths.push((id, path.clone()));
    Tracked { id, path }
}

/// Registers `path`, a temporary file or directory, to be removed if a
/// signal ends the process before the returned guard is dropped. Register
/// a path before creating it, or create it with [`track_new`]: a path
/// created before it is registered could outlive a signal that arrives in
/// between.
#[allow(dead_code, reason = "for outputs created by their path")]
pub fn track(path: impl Into<PathBuf>) -> Tracked {
    register(&mut registry(), path.into())
}

/// Creates a temporary file or directory with `create`, which returns it
/// and its path, and registers that path as [`track`] does. `create` runs
/// with the registry locked, so a signal either finds the path registered
/// or ends the process before it is created.
///
/// # Errors
///
/// Whatever `create` returns; nothing is registered then.
pub fn track_new<T, E>(
    create: impl FnOnce() -> Result<(T, PathBuf), E>,
) -> Result<(T, Tracked), E> {
    let mut paths = registry();
    let (made, path) = create()?;
    Ok((made, register(&mut paths, path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(path: &Path) -> bool {
        registry().iter().any(|(_, p)| p == path)
    }

    #[test]
    fn a_guard_registers_its_path_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tmp");
        let guard = track(&path);
        assert_eq!(guard.path(), path);
        assert!(registered(&path));
        drop(guard);
        assert!(!registered(&path));
    }

    #[test]
    fn the_same_path_twice_stays_registered_until_both_guards_drop() {
        let path = PathBuf::from("/nonexistent/twice.tmp");
        let (first, second) = (track(&path), track(&path));
        drop(first);
        assert!(registered(&path));
        drop(second);
        assert!(!registered(&path));
    }

    #[test]
    fn track_new_registers_what_it_creates_and_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let (file, guard) = track_new(|| {
            let file = tempfile::NamedTempFile::new_in(dir.path())?;
            let path = file.path().to_path_buf();
            Ok::<_, io::Error>((file, path))
        })
        .unwrap();
        assert!(registered(file.path()));
        drop(guard);
        let failed: Result<((), Tracked), &str> = track_new(|| Err("no"));
        assert!(failed.is_err());
    }

    #[test]
    fn remove_takes_files_and_directories_and_reports_what_it_removed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.tmp");
        std::fs::write(&file, b"x").unwrap();
        let sub = dir.path().join("d.tmp");
        std::fs::create_dir_all(sub.join("c/0")).unwrap();
        std::fs::write(sub.join("c/0/0"), b"x").unwrap();
        assert!(remove(&file));
        assert!(remove(&sub));
        assert!(!file.exists() && !sub.exists());
        assert!(!remove(&file));
    }
}
