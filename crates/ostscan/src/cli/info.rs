use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct InfoArgs {
    /// The .pst or .ost file.
    pub file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Walk every page and block and report CRC / signature failures with offsets.
    #[arg(long)]
    pub verify: bool,
}

pub fn run(_args: &InfoArgs) -> u8 {
    eprintln!("ostscan info: not implemented yet");
    2
}
