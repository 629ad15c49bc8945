use clap::Args;

#[derive(Args)]
pub struct DecodeArgs {
    /// What the value is: `xid` (a PR_CHANGE_KEY) or `pcl` (a PR_PREDECESSOR_CHANGE_LIST).
    pub what: String,
    /// The value as hex (spaces, "0x" and line breaks are ignored).
    pub hex: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_args: &DecodeArgs) -> u8 {
    eprintln!("ostscan decode: not implemented yet");
    2
}
