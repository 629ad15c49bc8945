//! One module per subcommand. Each has an `Args` struct (clap) and a
//! `run(&Args) -> u8` returning the process exit code.

pub mod batch;
pub mod decode;
pub mod diff;
pub mod dump;
pub mod info;
pub mod items;
pub mod scan;
