//! One module per subcommand. Each has an `Args` struct (clap) and a
//! `run(&Args) -> u8` returning the process exit code.

pub mod batch;
pub mod decode;
pub mod diff;
pub mod dump;
pub mod info;
pub mod items;
pub mod scan;

/// Report a failed write of the output; `Some(2)` unless it was a closed
/// pipe (`| head`), which is the reader's choice, not a failure.
pub fn output_error(out: Option<&std::path::Path>, e: &std::io::Error) -> Option<u8> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return None;
    }
    let target = out.map_or("standard output".to_string(), |p| p.display().to_string());
    eprintln!("ostscan: {target}: {e}");
    Some(2)
}
