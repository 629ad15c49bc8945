//! One module per subcommand. Each has an `Args` struct (clap) and a
//! `run(&Args) -> u8` returning the process exit code. Every byte of
//! output goes through [`output`] (closed pipes, write errors, atomic
//! `--out`), every message through [`output::warn`].

pub mod batch;
pub mod decode;
pub mod diff;
pub mod dump;
pub mod examples;
pub mod generate;
pub mod info;
pub mod items;
pub mod output;
pub mod reconcile;
pub mod scan;
pub mod timeline;
