//! Refusing an output path that names a file the command reads: writing the
//! output would destroy its own input.
//!
//! Two paths name the same file when they are the same text, when they
//! resolve to the same canonical path (symbolic links, `..`, a relative and
//! an absolute spelling), or when they are hard links to one inode (the same
//! device and inode number). An output that does not exist yet is compared
//! by its canonical directory and its name.

use std::path::{Path, PathBuf};

use crate::failure::Failure;

/// A file a command reads, and what it is to the command (`input`,
/// `spacing coordinates`), for the message.
pub type Read<'a> = (&'a Path, &'a str);

/// Fails if `output` is, or resolves to, one of `reads`.
///
/// # Errors
///
/// A one-line [`Failure`] naming the output and the file it would replace.
pub fn refuse_overwriting(output: &Path, reads: &[Read<'_>]) -> Result<(), Failure> {
    match reads.iter().find(|(read, _)| same_file(output, read)) {
        Some((read, what)) => Err(Failure::new(format!(
            "refusing to write output {output:?}: it is the {what} file {read:?}, which the output would replace; choose another output path"
        ))),
        None => Ok(()),
    }
}

/// Whether `a` and `b` name the same file (see the module's documentation).
fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Follows symbolic links: a link to the file is the file.
        if let (Ok(a), Ok(b)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            if (a.dev(), a.ino()) == (b.dev(), b.ino()) {
                return true;
            }
        }
    }
    matches!((resolved(a), resolved(b)), (Some(a), Some(b)) if a == b)
}

/// `path` made canonical, or for a path that does not exist (or is a dangling
/// symbolic link), its canonical directory joined with its name.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(path) = path.canonicalize() {
        return Some(path);
    }
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Some(dir.canonicalize().ok()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn links_and_spellings_of_one_file_are_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f.npy");
        std::fs::write(&f, b"x").unwrap();
        let hard = dir.path().join("hard.npz");
        std::fs::hard_link(&f, &hard).unwrap();
        let soft = dir.path().join("soft.npz");
        std::os::unix::fs::symlink(&f, &soft).unwrap();
        let dotted = dir.path().join("sub/../f.npy");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for same in [&f, &hard, &soft, &dotted] {
            assert!(same_file(same, &f), "{same:?}");
        }
        assert!(!same_file(&dir.path().join("new.npz"), &f));
        let other = dir.path().join("g.npy");
        std::fs::write(&other, b"x").unwrap();
        assert!(!same_file(&other, &f));
    }

    #[test]
    fn the_message_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.npy");
        std::fs::write(&f, b"x").unwrap();
        let message = refuse_overwriting(
            &f,
            &[(Path::new("a.npy"), "input"), (&f, "spacing coordinates")],
        )
        .unwrap_err()
        .to_string();
        assert!(message.contains("spacing coordinates file"), "{message}");
    }
}
