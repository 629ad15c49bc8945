//! `ostscan decode xid|pcl VALUE [--json]`: decode one raw PR_CHANGE_KEY or
//! PR_PREDECESSOR_CHANGE_LIST value pasted from MFCMAPI, an EWS trace or a
//! hex dump. `VALUE` is hex (spaced, dashed, `0x`-prefixed), MFCMAPI's
//! `cb: N lpb: HEX`, base64 (an EWS `ChangeKey`, whose 8-byte header is
//! removed, see docs/rules.md), `@FILE` for a file holding it, or `-` for
//! standard input.

use std::io::Read as _;

use clap::Args;
use ostscan::decode::{decode, Invalid, Kind};

const EXIT_CODES: &str = "\
Exit codes (the highest that applies wins):
  2  the value is not a valid XID or PCL (of a malformed PCL, the entries
     before the fault are printed, then the fault), the input could not be
     read, the output could not be written, or bad usage
  0  none of the above
A closed output pipe (`| head`) ends ostscan quietly with status 0.";

#[derive(Args)]
#[command(after_help = EXIT_CODES)]
pub struct DecodeArgs {
    /// What the value is: `xid` (a PR_CHANGE_KEY) or `pcl` (a PR_PREDECESSOR_CHANGE_LIST).
    pub what: String,
    /// The value: hex (spaces, dashes, "0x" and line breaks are ignored), MFCMAPI's
    /// "cb: 22 lpb: 1458...", an EWS ChangeKey in base64 ("CQAAABYAAAB..."), @FILE to read
    /// it from a file, or - to read it from standard input.
    pub hex: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Largest `@FILE` or standard input accepted. A PCL is a property value of
/// at most a few KB; the cap keeps a wrong path (a whole OST, a device) from
/// being slurped.
const MAX_HEX_FILE_BYTES: u64 = 16 * 1024 * 1024;

pub fn run(args: &DecodeArgs) -> u8 {
    match render(args) {
        Ok(output) => match super::output::print(output.as_bytes()) {
            Ok(()) => 0,
            Err(code) => code,
        },
        Err(Invalid { message, decoded }) => {
            // What could be decoded is the evidence of how the value broke:
            // printed, then the error, and still exit 2.
            if let Some(Err(code)) = decoded.map(|output| super::output::print(output.as_bytes())) {
                return code;
            }
            super::output::warn(format_args!("decode: {message}"));
            2
        }
    }
}

/// The whole command minus printing: output text, or a one-line error
/// (with what was decoded before it).
fn render(args: &DecodeArgs) -> Result<String, Invalid> {
    // The kind first: a wrong one is said before any input is read.
    let kind = Kind::parse(&args.what)?;
    let text = if args.hex == "-" {
        read_capped(std::io::stdin().lock(), "standard input")?
    } else {
        match args.hex.strip_prefix('@') {
            Some(path) => read_hex_file(path)?,
            None => args.hex.clone(),
        }
    };
    decode(kind, &text, args.json)
}

fn read_hex_file(path: &str) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    read_capped(file, path)
}

/// At most [`MAX_HEX_FILE_BYTES`] of text from `input`, named `what` in errors.
fn read_capped(input: impl std::io::Read, what: &str) -> Result<String, String> {
    let mut text = String::new();
    input
        .take(MAX_HEX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if text.len() as u64 > MAX_HEX_FILE_BYTES {
        return Err(format!(
            "{what} is larger than {MAX_HEX_FILE_BYTES} bytes; expected hex text of one property value"
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XID_1: &str = "14583767B6346D41A95E06FFF0D886A800000004C755";

    fn args(what: &str, hex: &str, json: bool) -> DecodeArgs {
        DecodeArgs {
            what: what.to_string(),
            hex: hex.to_string(),
            json,
        }
    }

    #[test]
    fn exit_status_says_whether_the_value_decoded() {
        assert_eq!(run(&args("xid", "zz", false)), 2);
        assert_eq!(run(&args("xid", XID_1, true)), 0);
        assert_eq!(run(&args("gid", XID_1, false)), 2);
    }

    #[test]
    fn reads_hex_from_a_file() {
        let path = std::env::temp_dir().join(format!("ostscan-decode-{}.hex", std::process::id()));
        std::fs::write(&path, format!("{XID_1}\r\n")).unwrap();
        let output = render(&args("xid", &format!("@{}", path.display()), true));
        let _ = std::fs::remove_file(&path);
        let value: serde_json::Value = serde_json::from_str(&output.unwrap()).unwrap();
        assert_eq!(value["counter"], 313_173);
        let missing = render(&args("xid", "@/nonexistent/ostscan.hex", false))
            .unwrap_err()
            .message;
        assert!(missing.starts_with("cannot read /nonexistent/ostscan.hex"));
    }
}
