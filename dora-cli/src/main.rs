//! The `dora` command.
fn main() {}
