//! The one error type of the CLI's subcommands: a message for stderr.

use std::fmt;

/// A failed command: one line for stderr (without the `ndgrad: ` prefix,
/// which `main` adds). Its exit code is 1; argument errors found by clap exit
/// with 2 before any command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    message: String,
}

impl Failure {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The exit code the process ends with.
    pub fn exit_code(&self) -> u8 {
        1
    }
}

impl fmt::Display for Failure {
    /// The message on one line: any line breaks (from an OS error, say) become `; `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = self
            .message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty());
        if let Some(first) = lines.next() {
            f.write_str(first)?;
        }
        for line in lines {
            write!(f, "; {line}")?;
        }
        Ok(())
    }
}

impl From<ndgrad::Error> for Failure {
    fn from(error: ndgrad::Error) -> Self {
        Failure::new(error.to_string())
    }
}

impl From<crate::npz::WriteError> for Failure {
    fn from(error: crate::npz::WriteError) -> Self {
        Failure::new(error.to_string())
    }
}
