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
    /// A failure with this message. Counts of one written in the plural
    /// ("1 elements", which the library's messages say) are made singular.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: singular(&message.into()),
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

/// What to install or choose when no GPU adapter can be used.
pub const NO_GPU_HINT: &str =
    "use --backend cpu, or install a Vulkan driver (e.g. mesa-vulkan-drivers)";

impl From<ndgrad::Error> for Failure {
    /// The library's message, but for a missing GPU adapter: what to do
    /// instead of wgpu's account of the search (kept when it names the
    /// `WGPU_ADAPTER_NAME` the user set).
    fn from(error: ndgrad::Error) -> Self {
        match error {
            ndgrad::Error::NoAdapter { reason } if reason.contains("WGPU_ADAPTER_NAME") => {
                Failure::new(format!("no GPU adapter found ({reason}); {NO_GPU_HINT}"))
            }
            ndgrad::Error::NoAdapter { .. } => {
                Failure::new(format!("no GPU adapter found; {NO_GPU_HINT}"))
            }
            error => Failure::new(error.to_string()),
        }
    }
}

/// The nouns of counts that can be one, in the plural and the singular, with
/// the verb that follows them where it agrees.
const PLURALS: [(&str, &str); 6] = [
    (" 1 elements", " 1 element"),
    (" 1 dimensions", " 1 dimension"),
    (" 1 requested axes", " 1 requested axis"),
    (" 1 periodic axes", " 1 periodic axis"),
    (" 1 spacing items were", " 1 spacing item was"),
    (" 1 boundary modes were", " 1 boundary mode was"),
];

/// `message` with every count of exactly one made singular ("axis 0 has
/// 1 element"); "11 elements" and "0 elements" stay as they are.
fn singular(message: &str) -> String {
    // A leading space lets a count that starts the message match too.
    let mut text = format!(" {message}");
    for (plural, one) in PLURALS {
        text = text.replace(plural, one);
    }
    text.split_off(1)
}

impl From<crate::npz::WriteError> for Failure {
    fn from(error: crate::npz::WriteError) -> Self {
        Failure::new(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_one_are_singular_and_others_plural() {
        let cases = [
            (
                "axis 0 has 1 elements: at least 2",
                "axis 0 has 1 element: at least 2",
            ),
            ("axis 0 has 11 elements", "axis 0 has 11 elements"),
            ("an array with 1 dimensions", "an array with 1 dimension"),
            (
                "1 spacing items were given for 1 requested axes",
                "1 spacing item was given for 1 requested axis",
            ),
            ("has 0 elements", "has 0 elements"),
        ];
        for (plural, want) in cases {
            assert_eq!(Failure::new(plural).to_string(), want);
        }
    }

    #[test]
    fn a_missing_adapter_names_the_cpu_backend_and_a_driver() {
        let error = ndgrad::Error::NoAdapter {
            reason: "a long account of every backend wgpu tried".into(),
        };
        assert_eq!(
            Failure::from(error).to_string(),
            "no GPU adapter found; use --backend cpu, or install a Vulkan driver (e.g. mesa-vulkan-drivers)"
        );
    }
}
