//! One file per subcommand: each turns parsed arguments into a run and returns its result.

pub mod action;
mod lambda;
mod obtain_image;
pub mod push;
pub mod verify;
