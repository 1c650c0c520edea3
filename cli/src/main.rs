//! The `ndgrad` command-line tool.
fn main() {}
