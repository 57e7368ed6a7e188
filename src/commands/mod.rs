//! One file per subcommand: each turns parsed arguments into a run and returns its result.

pub mod push;
