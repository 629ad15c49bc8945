//! `ostscan decode`: one raw PR_CHANGE_KEY or PR_PREDECESSOR_CHANGE_LIST
//! value pasted from MFCMAPI, an EWS trace or a hex dump, decoded as text or
//! JSON. The value is hex (spaced, dashed, `0x`-prefixed), MFCMAPI's `cb: N
//! lpb: HEX`, or base64 (an EWS `ChangeKey`, whose 8-byte header is
//! removed, see docs/rules.md).

use std::fmt::Write as _;

use ost_props::{Pcl, PclEntry, RawPclEntries, Xid};
use serde::Serialize;

use crate::ews;
use crate::paths::base64_decode;
use crate::proof::{hex, XidView};
use crate::report::count;

/// Why a value could not be decoded whole: the one-line error, and the
/// output for what was decoded before the fault (a malformed PCL's first
/// entries), if anything was.
#[derive(Debug)]
pub struct Invalid {
    pub message: String,
    pub decoded: Option<String>,
}

impl From<String> for Invalid {
    fn from(message: String) -> Invalid {
        Invalid {
            message,
            decoded: None,
        }
    }
}

/// What a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An XID: a PR_CHANGE_KEY.
    Xid,
    /// A PR_PREDECESSOR_CHANGE_LIST.
    Pcl,
}

impl Kind {
    /// `xid` or `pcl`, in any case.
    pub fn parse(what: &str) -> Result<Kind, String> {
        match what.to_ascii_lowercase().as_str() {
            "xid" => Ok(Kind::Xid),
            "pcl" => Ok(Kind::Pcl),
            other => Err(format!("unknown kind '{other}': expected xid or pcl")),
        }
    }
}

/// How the value was written, as the output says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "input")]
pub enum InputForm {
    /// Hex digits.
    Hex,
    /// MFCMAPI's `cb: N lpb: HEX`; N was checked against the bytes.
    Mfcmapi,
    /// Base64 of the value itself.
    Base64,
    /// Base64 of an EWS `ChangeKey`: its 8-byte header (type, length) was
    /// removed, the XID after it decoded.
    EwsChangeKey { ews_type: u32 },
}

impl InputForm {
    /// A line saying how the input was read; `None` for plain hex.
    fn note(self, bytes: usize) -> Option<String> {
        match self {
            InputForm::Hex => None,
            InputForm::Mfcmapi => Some(format!("MFCMAPI cb/lpb form: cb {bytes} matches")),
            InputForm::Base64 => Some(format!("base64: {bytes} bytes")),
            InputForm::EwsChangeKey { ews_type } => Some(format!(
                "EWS ChangeKey (base64): 8-byte header removed (type {ews_type}, length {bytes}), the PR_CHANGE_KEY after it decoded"
            )),
        }
    }
}

/// `text` decoded as a `kind` value: the output (one JSON line with
/// `json`, else text), or a one-line error (with what was decoded before
/// it).
pub fn decode(kind: Kind, text: &str, json: bool) -> Result<String, Invalid> {
    let (form, bytes) = parse_value(text, kind)?;
    let note = form.note(bytes.len());
    // The output, and the error when it covers only what decoded before a
    // fault.
    let (mut output, fault) = match kind {
        Kind::Xid => {
            let xid = Xid::parse(&bytes).map_err(|e| format!("invalid XID: {e}"))?;
            let output = if json {
                to_json(&XidReport::new(&xid, &bytes, form))
            } else {
                xid_text(&xid, bytes.len())
            };
            (output, None)
        }
        Kind::Pcl => match Pcl::parse(&bytes) {
            Ok(pcl) => {
                let output = if json {
                    to_json(&PclReport::new(&pcl, form))
                } else {
                    pcl_text(&pcl)
                };
                (output, None)
            }
            Err(e) => {
                let message = format!("invalid PCL: {e}");
                let entries: Vec<PclEntry<'_>> =
                    RawPclEntries::new(&bytes).map_while(Result::ok).collect();
                if entries.is_empty() {
                    return Err(message.into());
                }
                let output = if json {
                    to_json(&MalformedPclReport::new(
                        &bytes,
                        &entries,
                        &message,
                        e.offset(),
                        form,
                    ))
                } else {
                    malformed_pcl_text(&bytes, &entries, &message)
                };
                (output, Some(message))
            }
        },
    };
    if let (Some(note), false) = (note, json) {
        output.insert_str(0, &format!("input: {note}\n"));
    }
    match fault {
        None => Ok(output),
        Some(message) => Err(Invalid {
            message,
            decoded: Some(output),
        }),
    }
}

/// The value's bytes and how they were written. Hex first (MFCMAPI's
/// `cb:`/`lpb:` labels taken off); text that is not hex is tried as
/// base64, and for an XID as an EWS `ChangeKey`.
fn parse_value(text: &str, kind: Kind) -> Result<(InputForm, Vec<u8>), String> {
    if let Some((cb, hex)) = mfcmapi_value(text)? {
        let bytes = parse_hex(hex)?;
        if bytes.len() != cb {
            return Err(format!(
                "MFCMAPI value says cb: {cb} but lpb holds {} bytes",
                bytes.len()
            ));
        }
        return Ok((InputForm::Mfcmapi, bytes));
    }
    let hex_error = match parse_hex(text) {
        Ok(bytes) => return Ok((InputForm::Hex, bytes)),
        Err(e) => e,
    };
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(bytes) = base64_decode(&compact).filter(|b| !b.is_empty()) else {
        return Err(format!("{hex_error} (and it is not base64 either)"));
    };
    if kind == Kind::Xid {
        if let Ok(k) = ews::parse_change_key(&bytes) {
            return Ok((
                InputForm::EwsChangeKey {
                    ews_type: k.item_type,
                },
                k.change_key.to_vec(),
            ));
        }
    }
    Ok((InputForm::Base64, bytes))
}

/// MFCMAPI's rendering of a binary value, `cb: 22 lpb: 1458...`: the
/// count and the hex after `lpb:`; `None` when the text does not start
/// with `cb:`.
fn mfcmapi_value(text: &str) -> Result<Option<(usize, &str)>, String> {
    let trimmed = text.trim_start();
    let Some(rest) = trimmed
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("cb:"))
        .map(|_| &trimmed[3..])
    else {
        return Ok(None);
    };
    let rest = rest.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let cb: usize = rest[..digits]
        .parse()
        .map_err(|_| "MFCMAPI value: no number after cb:".to_string())?;
    let rest = rest[digits..].trim_start();
    let hex = rest
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("lpb:"))
        .map(|_| &rest[4..])
        .ok_or_else(|| "MFCMAPI value: no lpb: after cb:".to_string())?;
    Ok(Some((cb, hex)))
}

/// Hex text to bytes. Whitespace (including CR/LF), commas, dashes and
/// colons separate tokens; a token may start with `0x`/`0X`. Errors name
/// the character position (0-based) in the text.
fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(text.len() / 2);
    let mut high_nibble: Option<u8> = None;
    let mut chars = text.char_indices().peekable();
    let mut at_token_start = true;
    while let Some((position, ch)) = chars.next() {
        if ch.is_whitespace() || matches!(ch, ',' | '-' | ':') {
            at_token_start = true;
            continue;
        }
        if at_token_start && ch == '0' {
            if let Some(&(_, 'x' | 'X')) = chars.peek() {
                chars.next();
                at_token_start = false;
                continue;
            }
        }
        at_token_start = false;
        let Some(nibble) = ch.to_digit(16) else {
            return Err(format!(
                "invalid hex character {ch:?} at text position {position}"
            ));
        };
        // `to_digit(16)` is below 16, so the cast is exact.
        let nibble = nibble as u8;
        match high_nibble.take() {
            None => high_nibble = Some(nibble),
            Some(high) => bytes.push((high << 4) | nibble),
        }
    }
    if high_nibble.is_some() {
        return Err(format!(
            "odd number of hex digits: the last byte (byte offset {}) is incomplete",
            bytes.len()
        ));
    }
    if bytes.is_empty() {
        return Err("no hex digits given".to_string());
    }
    Ok(bytes)
}

fn xid_text(xid: &Xid<'_>, len: usize) -> String {
    let view = XidView::new(xid);
    format!(
        "XID ({len} bytes)\n\
         \x20 namespace GUID : {guid}\n\
         \x20 GUID bytes     : {guid_hex}\n\
         \x20 LocalId        : {local_len} bytes {local_id}\n\
         \x20 counter        : {counter}\n\
         \x20 origin         : {origin}\n",
        guid = view.guid,
        guid_hex = view.guid_hex,
        local_len = view.local_id_len,
        local_id = view.local_id,
        counter = view.counter_text(),
        origin = view.origin_note(),
    )
}

/// One entry's line of the text form.
fn entry_line(text: &mut String, entry: &PclEntry<'_>) {
    let xid = XidView::new(&entry.xid);
    let _ = writeln!(
        text,
        "  [{index}] offset {offset}, XidSize {size}: {guid} LocalId {local_len} bytes {local_id}, counter {counter}, {origin}",
        index = entry.index,
        offset = entry.offset,
        size = entry.xid.encoded_len(),
        guid = xid.guid,
        local_len = xid.local_id_len,
        local_id = xid.local_id,
        counter = xid.counter_text(),
        origin = xid.origin,
    );
}

fn pcl_text(pcl: &Pcl<'_>) -> String {
    let mut text = format!(
        "PCL ({} bytes, {} entries)\n",
        pcl.as_bytes().len(),
        pcl.len()
    );
    for entry in pcl.entries() {
        entry_line(&mut text, &entry);
    }
    match pcl.first_unsorted() {
        None => text.push_str("  sorted by GUID (stored bytes): yes\n"),
        Some((before, after)) => {
            let _ = writeln!(
                text,
                "  sorted by GUID (stored bytes): no, entry {} sorts before entry {}",
                after.index, before.index
            );
        }
    }
    let duplicates = pcl.duplicate_namespaces();
    if duplicates.is_empty() {
        text.push_str("  duplicate namespaces: none\n");
    } else {
        let list: Vec<String> = duplicates.iter().map(|guid| guid.to_string()).collect();
        let _ = writeln!(text, "  duplicate namespaces: {}", list.join(", "));
    }
    text
}

/// A malformed PCL's text form: the entries before the fault, then the fault.
fn malformed_pcl_text(bytes: &[u8], entries: &[PclEntry<'_>], message: &str) -> String {
    let mut text = format!(
        "PCL ({} bytes): malformed; the {} before the fault:\n",
        bytes.len(),
        count(entries.len() as u64, "entry", "entries")
    );
    for entry in entries {
        entry_line(&mut text, entry);
    }
    let _ = writeln!(text, "  {message}");
    text
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serializing plain structs of strings and numbers cannot fail; keep
    // a readable fallback rather than a panic anyway.
    let mut text = serde_json::to_string(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"{}\"}}", e.to_string().replace('"', "'")));
    text.push('\n');
    text
}

/// `ostscan decode xid --json`.
#[derive(Serialize)]
struct XidReport {
    kind: &'static str,
    /// How the value was written: `input` (`hex`, `mfcmapi`, `base64`,
    /// `ews_change_key`), and `ews_type` for the last.
    #[serde(flatten)]
    input: InputForm,
    #[serde(flatten)]
    xid: XidView,
    /// The whole input, lowercase hex.
    hex: String,
}

impl XidReport {
    fn new(xid: &Xid<'_>, bytes: &[u8], input: InputForm) -> Self {
        XidReport {
            kind: "xid",
            input,
            xid: XidView::new(xid),
            hex: hex(bytes),
        }
    }
}

/// `ostscan decode pcl --json`.
#[derive(Serialize)]
struct PclReport {
    kind: &'static str,
    #[serde(flatten)]
    input: InputForm,
    count: usize,
    entries: Vec<PclEntryReport>,
    /// Ascending by stored GUID bytes, as [MS-OXCFXICS] 2.2.2.3 requires.
    sorted: bool,
    /// Namespaces present more than once, registry form.
    duplicates: Vec<String>,
    hex: String,
}

#[derive(Serialize)]
struct PclEntryReport {
    index: usize,
    offset: usize,
    xid_size: usize,
    #[serde(flatten)]
    xid: XidView,
}

/// `ostscan decode pcl --json` of a malformed PCL: the entries before the
/// fault, and the fault (the exit status is 2).
#[derive(Serialize)]
struct MalformedPclReport {
    kind: &'static str,
    #[serde(flatten)]
    input: InputForm,
    /// The decoding error, as standard error says it.
    error: String,
    /// Byte offset of the fault in the value.
    error_offset: usize,
    /// Entries decoded before the fault.
    count: usize,
    entries: Vec<PclEntryReport>,
    hex: String,
}

impl MalformedPclReport {
    fn new(
        bytes: &[u8],
        entries: &[PclEntry<'_>],
        message: &str,
        error_offset: usize,
        input: InputForm,
    ) -> Self {
        MalformedPclReport {
            kind: "pcl",
            input,
            error: message.to_string(),
            error_offset,
            count: entries.len(),
            entries: entries.iter().map(PclEntryReport::new).collect(),
            hex: hex(bytes),
        }
    }
}

impl PclEntryReport {
    fn new(entry: &PclEntry<'_>) -> Self {
        PclEntryReport {
            index: entry.index,
            offset: entry.offset,
            xid_size: entry.xid.encoded_len(),
            xid: XidView::new(&entry.xid),
        }
    }
}

impl PclReport {
    fn new(pcl: &Pcl<'_>, input: InputForm) -> Self {
        PclReport {
            kind: "pcl",
            input,
            count: pcl.len(),
            entries: pcl.entries().map(|e| PclEntryReport::new(&e)).collect(),
            sorted: pcl.is_sorted(),
            duplicates: pcl
                .duplicate_namespaces()
                .iter()
                .map(|guid| guid.to_string())
                .collect(),
            hex: hex(pcl.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XID_1: &str = "14583767B6346D41A95E06FFF0D886A800000004C755";
    const PCL_2: &str = "16373B21412876FE448E8D71BE34CC3154000061E71533166F267F483887D948AAFCA58AB2BC910F0000DC0B3A12148FABC61C6C4C5E47930B9B30AA0ED4EB00005CA8";

    fn render(what: &str, text: &str, json: bool) -> Result<String, Invalid> {
        decode(Kind::parse(what)?, text, json)
    }

    #[test]
    fn hex_accepts_spaces_prefixes_and_line_breaks() {
        assert_eq!(
            parse_hex("0x14 0XF2,47\r\n86 9d").unwrap(),
            [0x14, 0xF2, 0x47, 0x86, 0x9D]
        );
        assert_eq!(parse_hex("0x14F2\n").unwrap(), [0x14, 0xF2]);
        assert_eq!(parse_hex("00 0a").unwrap(), [0x00, 0x0A]);
    }

    #[test]
    fn hex_errors_name_the_position() {
        let error = parse_hex("14 F2 4G").unwrap_err();
        assert!(error.contains("'G' at text position 7"), "{error}");
        let error = parse_hex("14F").unwrap_err();
        assert!(
            error.contains("odd number") && error.contains("byte offset 1"),
            "{error}"
        );
        assert!(parse_hex(" \r\n").unwrap_err().contains("no hex digits"));
        assert!(parse_hex("1x4").is_err(), "x only after a leading 0");
    }

    #[test]
    fn xid_text_shows_guid_length_and_counter() {
        let output = render("xid", XID_1, false).unwrap();
        assert!(
            output.contains("{67375814-34B6-416D-A95E-06FFF0D886A8}"),
            "{output}"
        );
        assert!(
            output.contains("14583767b6346d41a95e06fff0d886a8"),
            "{output}"
        );
        assert!(output.contains("6 bytes 00000004C755"), "{output}");
        assert!(output.contains("313173 (0x4c755)"), "{output}");
        assert!(output.contains("server"), "{output}");
    }

    #[test]
    fn xid_json_is_one_object() {
        let output = render("XID", XID_1, true).unwrap();
        assert_eq!(output.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(&output).unwrap();
        assert_eq!(value["kind"], "xid");
        assert_eq!(value["guid"], "{67375814-34B6-416D-A95E-06FFF0D886A8}");
        assert_eq!(value["guid_hex"], "14583767b6346d41a95e06fff0d886a8");
        assert_eq!(value["local_id_len"], 6);
        assert_eq!(value["counter"], 313_173);
        assert_eq!(value["counter_hex"], "0x4c755");
        assert_eq!(value["origin"], "server");
        assert_eq!(value["hex"], XID_1.to_ascii_lowercase());
    }

    #[test]
    fn pcl_text_lists_every_entry() {
        let output = render("pcl", PCL_2, false).unwrap();
        assert!(output.starts_with("PCL (67 bytes, 3 entries)"), "{output}");
        assert!(output.contains("[0] offset 0, XidSize 22: {41213B37-7628-44FE-8E8D-71BE34CC3154}"));
        assert!(
            output.contains("[1] offset 23, XidSize 22: {487F266F-8738-48D9-AAFC-A58AB2BC910F}")
        );
        assert!(output.contains("[2] offset 46, XidSize 20: {1CC6AB8F-4C6C-475E-930B-9B30AA0ED4EB} LocalId 4 bytes 00005CA8, counter 23720 (0x5ca8), client"));
        assert!(output.contains("sorted by GUID (stored bytes): yes"));
        assert!(output.contains("duplicate namespaces: none"));
    }

    #[test]
    fn pcl_json_reports_entries_order_and_duplicates() {
        let output = render("pcl", PCL_2, true).unwrap();
        let value: serde_json::Value = serde_json::from_str(&output).unwrap();
        assert_eq!(value["kind"], "pcl");
        assert_eq!(value["count"], 3);
        assert_eq!(value["sorted"], true);
        assert_eq!(value["duplicates"], serde_json::json!([]));
        let entries = value["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1]["offset"], 23);
        assert_eq!(entries[1]["xid_size"], 22);
        assert_eq!(entries[1]["local_id"], "0000DC0B3A12");
        assert_eq!(entries[1]["counter"], 0xDC0B_3A12u64);
        assert_eq!(entries[2]["origin"], "client");

        // Same namespace twice, out of order.
        let unsorted = format!("{}{}", &PCL_2[46..], &PCL_2[..46]);
        let twice = format!("{unsorted}{}", &PCL_2[..46]);
        let value: serde_json::Value =
            serde_json::from_str(&render("pcl", &twice, true).unwrap()).unwrap();
        assert_eq!(value["sorted"], false);
        assert_eq!(
            value["duplicates"],
            serde_json::json!(["{41213B37-7628-44FE-8E8D-71BE34CC3154}"])
        );
    }

    #[test]
    fn invalid_values_are_one_line_errors_with_offsets() {
        let error = render("xid", &XID_1[..30], false).unwrap_err().message;
        assert_eq!(
            error,
            "invalid XID: XID at byte offset 0 is 15 bytes, shorter than the minimum 17"
        );
        let invalid = render("pcl", &PCL_2[..PCL_2.len() - 4], false).unwrap_err();
        let error = invalid.message;
        assert!(
            error.starts_with("invalid PCL: entry at byte offset 46"),
            "{error}"
        );
        // The entries before the fault are shown (PCL_2 has three; the
        // third is cut).
        let decoded = invalid.decoded.expect("the first entries decode");
        assert!(
            decoded.contains("the 2 entries before the fault"),
            "{decoded}"
        );
        assert!(decoded.ends_with(&format!("  {error}\n")), "{decoded}");
        let error = render("pcl", XID_1, false).unwrap_err().message;
        assert!(
            error.contains("XidSize 20 at byte offset 0") || error.contains("byte offset"),
            "{error}"
        );
        let error = render("gid", XID_1, false).unwrap_err().message;
        assert!(error.contains("expected xid or pcl"));
        assert!(!error.contains('\n'));
    }

    #[test]
    fn separators_and_mfcmapi_labels() {
        assert_eq!(parse_hex("e8-78:0a").unwrap(), [0xE8, 0x78, 0x0A]);
        assert_eq!(
            mfcmapi_value("  CB: 2 LPB: e878").unwrap(),
            Some((2, " e878"))
        );
        assert_eq!(mfcmapi_value("e878").unwrap(), None);
        assert!(mfcmapi_value("cb: 2 e878").unwrap_err().contains("no lpb:"));
        // Text that is neither hex nor base64 keeps the hex error.
        let error = parse_value("14 F2 4G", Kind::Xid).unwrap_err();
        assert!(error.contains("'G' at text position 7"), "{error}");
        // Base64 of a PCL is the PCL: no EWS header is looked for.
        let bytes = parse_hex(PCL_2).unwrap();
        let b64 = crate::paths::base64_encode(&bytes);
        assert_eq!(
            parse_value(&b64, Kind::Pcl).unwrap(),
            (InputForm::Base64, bytes)
        );
    }
}
