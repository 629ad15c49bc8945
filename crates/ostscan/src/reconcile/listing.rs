//! The server's side of a reconciliation: a LISTING of every item's source
//! key and version as the server gives them today, in one of two forms
//! (`docs/reconcile.md`):
//!
//! - **graph**: Microsoft Graph message objects as the API returns them: a
//!   page `{"value": [...]}`, several pages one after the other, one
//!   message object a line, or a JSON array of messages. The source key,
//!   change key and PCL are base64 `singleValueExtendedProperties`
//!   (`Binary 0x65e0`, `0x65e2`, `0x65e3`; ids are case-insensitive); the
//!   `changeKey` property is the EWS form of PR_CHANGE_KEY
//!   ([`ews_change_key`]), used when `Binary 0x65e2` is absent.
//! - **normalized**: JSON lines `{"source_key": hex, "change_key": hex,
//!   "pcl": hex, "last_modified", "subject", "folder"}`.
//!
//! A listing is hostile input. It is read as a stream, cut into top-level
//! JSON objects by `Framer` (a small scanner that only counts braces
//! outside strings, so one broken object never takes the rest of the file
//! with it), each object at most [`MAX_OBJECT_BYTES`]. Every problem is a
//! [`ListingError`] with the line it is on; the reading goes on with the
//! next object.

use std::collections::BTreeMap;
use std::io::{self, Read};

use ost_props::{Pcl, Xid};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

pub use crate::ews::ews_change_key;
use crate::paths::base64_decode;

/// The longest top-level JSON object read (a Graph page of 1,000 messages
/// with their extended properties is about 1.5 MB).
pub const MAX_OBJECT_BYTES: usize = 64 << 20;
/// The deepest nesting of one object (Graph messages need 4 levels).
pub const MAX_DEPTH: u32 = 64;
/// Errors kept with their text; the rest are counted.
pub const MAX_ERRORS_KEPT: usize = 1000;
/// Subjects and folder names kept, in characters.
const MAX_TEXT_CHARS: usize = 1024;
/// The longest source key accepted (Exchange's are 22 bytes).
const MAX_SOURCE_KEY_BYTES: usize = 64;
/// The longest PCL accepted, in bytes (an entry is at most 25).
const MAX_PCL_BYTES: usize = 25 * 1024;

/// The form of a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListingFormat {
    /// Microsoft Graph message JSON.
    Graph,
    /// ostscan's normalized JSON lines.
    Normalized,
}

impl ListingFormat {
    pub fn name(self) -> &'static str {
        match self {
            ListingFormat::Graph => "graph",
            ListingFormat::Normalized => "normalized",
        }
    }

    /// Parses `graph` or `normalized`.
    pub fn parse(text: &str) -> Option<ListingFormat> {
        [ListingFormat::Graph, ListingFormat::Normalized]
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text))
    }
}

/// Where an entry's change key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKeyOrigin {
    /// `change_key` of a normalized line.
    Hex,
    /// The Graph extended property `Binary 0x65e2`.
    ExtendedProperty,
    /// Graph's `changeKey`, the EWS form, decoded.
    EwsChangeKey,
}

/// One item as the server lists it. Every value present has been checked:
/// the change key is an XID and the PCL decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerEntry {
    /// The line the item starts on (1-based).
    pub line: u64,
    /// PR_SOURCE_KEY.
    pub source_key: Vec<u8>,
    /// PR_CHANGE_KEY (one XID).
    pub change_key: Option<Vec<u8>>,
    pub change_key_origin: Option<ChangeKeyOrigin>,
    /// PR_PREDECESSOR_CHANGE_LIST.
    pub pcl: Option<Vec<u8>>,
    /// As given (Graph: `lastModifiedDateTime`).
    pub last_modified: Option<String>,
    pub subject: Option<String>,
    /// Normalized: `folder`; Graph: `folderPath` (written by
    /// integrations/graph/export_server_versions.py), else `parentFolderId`.
    pub folder: Option<String>,
    /// Graph's item id, to fetch the item again.
    pub id: Option<String>,
    /// Why the version could not be used (the entry is kept so that its
    /// cache item is not reported as missing from the server); the same
    /// text is in the listing's errors.
    pub unusable: Option<String>,
}

impl ServerEntry {
    /// The item on `line` with this source key, nothing else known yet.
    fn new(line: u64, source_key: Vec<u8>) -> ServerEntry {
        ServerEntry {
            line,
            source_key,
            change_key: None,
            change_key_origin: None,
            pcl: None,
            last_modified: None,
            subject: None,
            folder: None,
            id: None,
            unusable: None,
        }
    }
}

/// A problem with part of a listing; that part is left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingError {
    /// 1-based line.
    pub line: u64,
    pub message: String,
}

/// A listing as read.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// `None` when nothing in it told (and none was given).
    pub format: Option<ListingFormat>,
    /// Whether the format was detected rather than given.
    pub format_detected: bool,
    /// Usable and unusable entries, in listing order.
    pub entries: Vec<ServerEntry>,
    /// The first [`MAX_ERRORS_KEPT`] problems.
    pub errors: Vec<ListingError>,
    /// Problems past the cap.
    pub errors_dropped: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Top-level JSON objects found (pages, messages or lines).
    pub objects: u64,
}

impl Listing {
    fn error(&mut self, line: u64, message: String) {
        if self.errors.len() < MAX_ERRORS_KEPT {
            self.errors.push(ListingError { line, message });
        } else {
            self.errors_dropped += 1;
        }
    }

    /// Every problem, kept or not.
    pub fn error_count(&self) -> u64 {
        self.errors.len() as u64 + self.errors_dropped
    }
}

/// Read a listing from `input` in `format`, or the format its first
/// recognizable object has. Fails only when `input` cannot be read; what it
/// holds, however broken, gives a [`Listing`] (with errors).
pub fn read_listing(mut input: impl Read, format: Option<ListingFormat>) -> io::Result<Listing> {
    let mut listing = Listing {
        format,
        ..Listing::default()
    };
    let mut framer = Framer::new();
    let mut chunk = vec![0u8; 1 << 16];
    let mut first = true;
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        listing.bytes += n as u64;
        let mut bytes = &chunk[..n];
        if first {
            first = false;
            // A UTF-8 byte order mark (PowerShell 5 writes one).
            if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
                bytes = rest;
            }
        }
        framer.feed(bytes, &mut |frame| take_frame(&mut listing, frame));
    }
    framer.finish(&mut |frame| take_frame(&mut listing, frame));
    listing.lines = framer.lines();
    Ok(listing)
}

fn take_frame(listing: &mut Listing, frame: Frame<'_>) {
    match frame {
        Frame::Object { line, bytes } => {
            listing.objects += 1;
            read_object(listing, line, bytes);
        }
        Frame::Error { line, message } => listing.error(line, message),
    }
}

/// What [`Framer`] cuts out of the stream.
enum Frame<'b> {
    /// One top-level JSON object, starting on `line`.
    Object { line: u64, bytes: &'b [u8] },
    /// Bytes that are not one.
    Error { line: u64, message: String },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between objects.
    Between,
    /// Inside an object.
    Object,
    /// After a problem: bytes are dropped up to a line that starts with `{`.
    Skip,
}

/// Cuts a byte stream into top-level JSON objects without parsing them:
/// braces and brackets are counted outside strings. Objects may be
/// separated by whitespace, or be the elements of one top-level array.
///
/// Recovery: after bytes that cannot start an object, an unterminated
/// string (JSON strings hold no raw line break) or an oversized or too
/// deeply nested object, it drops bytes up to the next line that starts
/// with `{`. An object that started a line and is still open when a new
/// line starts with `{`, after a line that ended neither in `,` nor `[`
/// (so that the `{` cannot be an element of it), is reported as cut short
/// and the new line read: a truncated line of JSON Lines does not swallow
/// the next one.
struct Framer {
    state: State,
    /// Current line, 1-based.
    line: u64,
    /// The next byte is the first of a line.
    at_line_start: bool,
    buf: Vec<u8>,
    start_line: u64,
    /// The object in `buf` started a line.
    started_line: bool,
    depth: u32,
    in_string: bool,
    escape: bool,
    /// Inside a top-level `[`.
    in_array: bool,
    /// The last byte of the object outside strings that is not whitespace.
    last_significant: u8,
}

impl Framer {
    fn new() -> Framer {
        Framer {
            state: State::Between,
            line: 1,
            at_line_start: true,
            buf: Vec::new(),
            start_line: 0,
            started_line: false,
            depth: 0,
            in_string: false,
            escape: false,
            in_array: false,
            last_significant: 0,
        }
    }

    /// Lines seen (a last line without a line break counts).
    fn lines(&self) -> u64 {
        if self.at_line_start {
            self.line - 1
        } else {
            self.line
        }
    }

    fn start_object(&mut self, started_line: bool) {
        self.state = State::Object;
        self.buf.clear();
        self.buf.push(b'{');
        self.start_line = self.line;
        self.started_line = started_line;
        self.depth = 1;
        self.in_string = false;
        self.escape = false;
        self.last_significant = b'{';
    }

    fn skip(&mut self) {
        self.state = State::Skip;
        self.buf.clear();
        self.buf.shrink_to(1 << 20);
    }

    fn feed(&mut self, bytes: &[u8], emit: &mut dyn FnMut(Frame<'_>)) {
        for &b in bytes {
            let line_start = self.at_line_start;
            self.at_line_start = b == b'\n';
            match self.state {
                State::Between => match b {
                    b' ' | b'\t' | b'\r' | b'\n' => {}
                    b'{' => self.start_object(line_start),
                    b'[' if !self.in_array => self.in_array = true,
                    b',' if self.in_array => {}
                    b']' if self.in_array => self.in_array = false,
                    _ => {
                        emit(Frame::Error {
                            line: self.line,
                            message: format!(
                                "unexpected {} where a JSON object should start; \
                                 skipped to the next line that starts with '{{'",
                                describe_byte(b)
                            ),
                        });
                        self.skip();
                    }
                },
                State::Skip => {
                    if line_start && b == b'{' {
                        self.in_array = false;
                        self.start_object(true);
                    }
                }
                State::Object => self.object_byte(b, line_start, emit),
            }
            if b == b'\n' {
                self.line += 1;
            }
        }
    }

    fn object_byte(&mut self, b: u8, line_start: bool, emit: &mut dyn FnMut(Frame<'_>)) {
        if line_start
            && b == b'{'
            && !self.in_string
            && self.started_line
            && !matches!(self.last_significant, b',' | b'[')
        {
            emit(Frame::Error {
                line: self.start_line,
                message: format!(
                    "the object starting on line {} is cut short: line {} starts another",
                    self.start_line, self.line
                ),
            });
            self.start_object(true);
            return;
        }
        if self.buf.len() >= MAX_OBJECT_BYTES {
            emit(Frame::Error {
                line: self.start_line,
                message: format!(
                    "the object starting on line {} is longer than {} MiB",
                    self.start_line,
                    MAX_OBJECT_BYTES >> 20
                ),
            });
            self.skip();
            return;
        }
        self.buf.push(b);
        if self.in_string {
            if self.escape {
                self.escape = false;
            } else if b == b'\\' {
                self.escape = true;
            } else if b == b'"' {
                self.in_string = false;
            } else if b == b'\n' {
                emit(Frame::Error {
                    line: self.start_line,
                    message: format!(
                        "the object starting on line {} has a string that line {} ends",
                        self.start_line, self.line
                    ),
                });
                self.skip();
            }
            return;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    emit(Frame::Error {
                        line: self.line,
                        message: format!(
                            "the object starting on line {} is nested deeper than {MAX_DEPTH} levels",
                            self.start_line
                        ),
                    });
                    self.skip();
                    return;
                }
            }
            b'}' | b']' => {
                self.depth -= 1;
                if self.depth == 0 {
                    self.state = State::Between;
                    emit(Frame::Object {
                        line: self.start_line,
                        bytes: &self.buf,
                    });
                    self.buf.clear();
                    if self.buf.capacity() > 1 << 20 {
                        self.buf.shrink_to(1 << 20);
                    }
                    return;
                }
            }
            _ => {}
        }
        if !b.is_ascii_whitespace() {
            self.last_significant = b;
        }
    }

    fn finish(&mut self, emit: &mut dyn FnMut(Frame<'_>)) {
        if self.state == State::Object {
            emit(Frame::Error {
                line: self.start_line,
                message: format!(
                    "the object starting on line {} is cut short by the end of the listing",
                    self.start_line
                ),
            });
        }
        self.state = State::Between;
        self.buf = Vec::new();
    }
}

/// A byte as an error message shows it.
fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", char::from(b))
    } else {
        format!("byte {b:#04x}")
    }
}

/// serde_json's message without its position (which is relative to the
/// object, not the listing), and the absolute line.
fn json_error(start_line: u64, e: &serde_json::Error) -> ListingError {
    let text = e.to_string();
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    let line = start_line + (e.line().max(1) as u64 - 1);
    ListingError {
        line,
        message: format!("invalid JSON: {message} (column {})", e.column()),
    }
}

/// The line of `part`, a slice of `object` (which starts on `start_line`),
/// counting line breaks from `from` (an earlier offset on `from_line`).
fn line_of(object: &[u8], part: &str, from: &mut (usize, u64)) -> u64 {
    let offset = (part.as_ptr() as usize).saturating_sub(object.as_ptr() as usize);
    let offset = offset.min(object.len());
    if offset >= from.0 {
        from.1 += object[from.0..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        from.0 = offset;
    }
    from.1
}

/// One top-level object: a Graph page, a Graph message or a normalized line.
fn read_object(listing: &mut Listing, line: u64, bytes: &[u8]) {
    let fields: BTreeMap<String, &RawValue> = match serde_json::from_slice(bytes) {
        Ok(f) => f,
        Err(e) => {
            let err = json_error(line, &e);
            listing.error(err.line, err.message);
            return;
        }
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    if listing.format.is_none() {
        listing.format = detect(&fields);
        listing.format_detected = listing.format.is_some();
    }
    match listing.format {
        None => listing.error(
            line,
            "neither a Graph message or page nor a normalized line (no \"source_key\", \
             \"value\", \"changeKey\" or \"singleValueExtendedProperties\"); \
             --server-format says which"
                .to_string(),
        ),
        Some(ListingFormat::Normalized) => match parse_object(line, bytes) {
            Ok(map) => read_normalized(listing, line, &map),
            Err(e) => listing.error(e.line, e.message),
        },
        Some(ListingFormat::Graph) => {
            if let Some(error) = get("error") {
                let text = serde_json::from_str::<Value>(error.get())
                    .map(|v| {
                        format!(
                            "{}: {}",
                            v.get("code").and_then(Value::as_str).unwrap_or("?"),
                            v.get("message").and_then(Value::as_str).unwrap_or("")
                        )
                    })
                    .unwrap_or_default();
                listing.error(line, format!("a Graph error response, not a page: {text}"));
                return;
            }
            match get("value") {
                Some(page) => read_graph_page(listing, line, bytes, page),
                None => match parse_object(line, bytes) {
                    Ok(map) => read_graph_message(listing, line, &map),
                    Err(e) => listing.error(e.line, e.message),
                },
            }
        }
    }
}

fn parse_object(line: u64, bytes: &[u8]) -> Result<Map<String, Value>, ListingError> {
    serde_json::from_slice(bytes).map_err(|e| json_error(line, &e))
}

/// The format an object's keys say.
fn detect(fields: &BTreeMap<String, &RawValue>) -> Option<ListingFormat> {
    let has = |name: &str| fields.keys().any(|k| k.eq_ignore_ascii_case(name));
    if has("source_key") {
        Some(ListingFormat::Normalized)
    } else if has("value")
        || has("@odata.context")
        || has("changeKey")
        || has("singleValueExtendedProperties")
    {
        Some(ListingFormat::Graph)
    } else {
        None
    }
}

fn read_graph_page(listing: &mut Listing, line: u64, bytes: &[u8], page: &RawValue) {
    let messages: Vec<&RawValue> = match serde_json::from_str(page.get()) {
        Ok(m) => m,
        Err(_) => {
            listing.error(
                line,
                "the page's \"value\" is not an array of messages".to_string(),
            );
            return;
        }
    };
    let mut at = (0usize, line);
    for message in messages {
        let message_line = line_of(bytes, message.get(), &mut at);
        match serde_json::from_str::<Map<String, Value>>(message.get()) {
            Ok(map) => read_graph_message(listing, message_line, &map),
            Err(_) => listing.error(
                message_line,
                "an element of the page's \"value\" is not a message object".to_string(),
            ),
        }
    }
}

/// A field by name, ignoring ASCII case.
fn field<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// An optional string field: `Ok(None)` when absent or null.
fn text_field(map: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match field(map, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(clip(s))),
        Some(other) => Err(format!("\"{name}\" is {}, not a string", kind(other))),
    }
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT_CHARS) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Lower- or upper-case hex, even length.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return Err(format!("{} hex digits: an odd number", bytes.len()));
    }
    let digit = |i: usize| -> Result<u8, String> {
        let c = bytes[i];
        (c as char)
            .to_digit(16)
            .map(|d| d as u8)
            .ok_or_else(|| format!("{} at position {i} is not a hex digit", describe_byte(c)))
    };
    (0..bytes.len() / 2)
        .map(|i| Ok(digit(2 * i)? << 4 | digit(2 * i + 1)?))
        .collect()
}

/// Check a change key and a PCL; the reason when either is not usable.
fn check_version(change_key: Option<&[u8]>, pcl: Option<&[u8]>) -> Result<(), String> {
    if let Some(ck) = change_key {
        Xid::parse(ck).map_err(|e| format!("the change key is not an XID: {e}"))?;
    }
    if let Some(p) = pcl {
        if p.len() > MAX_PCL_BYTES {
            return Err(format!(
                "the PCL is {} bytes, over {MAX_PCL_BYTES}",
                p.len()
            ));
        }
        Pcl::parse(p).map_err(|e| format!("the PCL does not decode: {e}"))?;
    }
    if change_key.is_none() && pcl.is_none() {
        return Err("no change key and no PCL".to_string());
    }
    Ok(())
}

fn check_source_key(key: &[u8]) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_SOURCE_KEY_BYTES {
        return Err(format!(
            "a source key of {} bytes (1 to {MAX_SOURCE_KEY_BYTES} accepted)",
            key.len()
        ));
    }
    Ok(())
}

/// Add an entry; a version that is not usable is kept as such and reported.
fn push_entry(listing: &mut Listing, mut entry: ServerEntry, version: Result<(), String>) {
    if let Err(reason) = version {
        listing.error(entry.line, reason.clone());
        entry.change_key = None;
        entry.pcl = None;
        entry.change_key_origin = None;
        entry.unusable = Some(reason);
    }
    listing.entries.push(entry);
}

fn read_normalized(listing: &mut Listing, line: u64, map: &Map<String, Value>) {
    let hex_field = |name: &str| -> Result<Option<Vec<u8>>, String> {
        match text_field(map, name)? {
            None => Ok(None),
            Some(text) => parse_hex(&text)
                .map(Some)
                .map_err(|e| format!("\"{name}\" is not hex: {e}")),
        }
    };
    let source_key = match hex_field("source_key") {
        Ok(Some(key)) => key,
        Ok(None) => {
            listing.error(line, "no \"source_key\"".to_string());
            return;
        }
        Err(e) => {
            listing.error(line, e);
            return;
        }
    };
    if let Err(e) = check_source_key(&source_key) {
        listing.error(line, e);
        return;
    }
    let mut entry = ServerEntry::new(line, source_key);
    let rest = (|| -> Result<(), String> {
        entry.last_modified = text_field(map, "last_modified")?;
        entry.subject = text_field(map, "subject")?;
        entry.folder = text_field(map, "folder")?;
        entry.change_key = hex_field("change_key")?;
        entry.change_key_origin = entry.change_key.as_ref().map(|_| ChangeKeyOrigin::Hex);
        entry.pcl = hex_field("pcl")?;
        check_version(entry.change_key.as_deref(), entry.pcl.as_deref())
    })();
    push_entry(listing, entry, rest);
}

/// The property tag of a Graph extended property id such as
/// `Binary 0x65e0` (or `Binary 0x65E00102`); `None` for other ids.
fn binary_tag(id: &str) -> Option<u16> {
    let mut words = id.split_whitespace();
    let kind = words.next()?;
    let tag = words.next()?;
    if !kind.eq_ignore_ascii_case("binary") || words.next().is_some() {
        return None;
    }
    let digits = tag.strip_prefix("0x").or_else(|| tag.strip_prefix("0X"))?;
    let value = u32::from_str_radix(digits, 16).ok()?;
    match digits.len() {
        1..=4 => u16::try_from(value).ok(),
        8 if value & 0xFFFF == 0x0102 => Some((value >> 16) as u16),
        _ => None,
    }
}

fn base64_field(text: &str, what: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64_decode(&compact).ok_or_else(|| format!("{what} is not base64"))
}

fn read_graph_message(listing: &mut Listing, line: u64, map: &Map<String, Value>) {
    let mut source_key = None;
    let mut ext_change_key = None;
    let mut pcl = None;
    let mut problem: Option<String> = None;
    match field(map, "singleValueExtendedProperties") {
        None | Some(Value::Null) => {}
        Some(Value::Array(props)) => {
            for prop in props {
                let Value::Object(prop) = prop else {
                    problem.get_or_insert("an extended property is not an object".to_string());
                    continue;
                };
                let Some(tag) = field(prop, "id")
                    .and_then(Value::as_str)
                    .and_then(binary_tag)
                else {
                    continue;
                };
                let slot = match tag {
                    0x65E0 => &mut source_key,
                    0x65E2 => &mut ext_change_key,
                    0x65E3 => &mut pcl,
                    _ => continue,
                };
                let what = format!("extended property Binary {tag:#06x}");
                match field(prop, "value") {
                    Some(Value::String(text)) => match base64_field(text, &what) {
                        Ok(bytes) => *slot = Some(bytes),
                        Err(e) => {
                            problem.get_or_insert(e);
                        }
                    },
                    None | Some(Value::Null) => {}
                    Some(other) => {
                        problem.get_or_insert(format!("{what} is {}, not a string", kind(other)));
                    }
                }
            }
        }
        Some(other) => {
            problem.get_or_insert(format!(
                "\"singleValueExtendedProperties\" is {}, not an array",
                kind(other)
            ));
        }
    }
    let Some(source_key) = source_key else {
        listing.error(
            line,
            problem.unwrap_or_else(|| {
                "no source key: the message has no extended property Binary 0x65e0 (request it \
                 with $expand=singleValueExtendedProperties($filter=id eq 'Binary 0x65e0' or \
                 id eq 'Binary 0x65e3'))"
                    .to_string()
            }),
        );
        return;
    };
    if let Err(e) = check_source_key(&source_key) {
        listing.error(line, e);
        return;
    }
    let mut entry = ServerEntry {
        pcl,
        ..ServerEntry::new(line, source_key)
    };
    let rest = (|| -> Result<(), String> {
        if let Some(p) = problem {
            return Err(p);
        }
        entry.id = text_field(map, "id")?;
        entry.subject = text_field(map, "subject")?;
        entry.last_modified = text_field(map, "lastModifiedDateTime")?;
        entry.folder = match text_field(map, "folderPath")? {
            Some(path) => Some(path),
            None => text_field(map, "parentFolderId")?,
        };
        // PR_CHANGE_KEY itself wins over the EWS form.
        if let Some(ck) = ext_change_key {
            entry.change_key = Some(ck);
            entry.change_key_origin = Some(ChangeKeyOrigin::ExtendedProperty);
        } else if let Some(text) = text_field(map, "changeKey")? {
            let bytes = base64_field(&text, "\"changeKey\"")?;
            let xid = ews_change_key(&bytes)
                .map_err(|e| format!("\"changeKey\" is not the EWS form: {e}"))?;
            entry.change_key = Some(xid.to_vec());
            entry.change_key_origin = Some(ChangeKeyOrigin::EwsChangeKey);
        }
        check_version(entry.change_key.as_deref(), entry.pcl.as_deref())
    })();
    push_entry(listing, entry, rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::base64_encode;

    fn read(text: &str, format: Option<ListingFormat>) -> Listing {
        read_listing(text.as_bytes(), format).unwrap()
    }

    const SK: &str = "bc786fda8b4f1f4894a688de8df0c9fc000000000507";
    const CK: &str = "bc786fda8b4f1f4894a688de8df0c9fc000000000507";

    fn graph_message(sk: &[u8], pcl: &[u8], change_key: &[u8]) -> String {
        let mut ews = vec![9, 0, 0, 0];
        ews.extend((change_key.len() as u32).to_le_bytes());
        ews.extend(change_key);
        serde_json::json!({
            "id": "AAMk",
            "subject": "hello",
            "lastModifiedDateTime": "2021-08-12T20:16:07Z",
            "changeKey": base64_encode(&ews),
            "parentFolderId": "AAMkFolder",
            "singleValueExtendedProperties": [
                {"id": "Binary 0x65e0", "value": base64_encode(sk)},
                {"id": "Binary 0x65E3", "value": base64_encode(pcl)},
            ]
        })
        .to_string()
    }

    #[test]
    fn normalized_lines_with_a_bad_one_in_the_middle() {
        let text = format!(
            "{{\"source_key\": \"{SK}\", \"change_key\": \"{CK}\", \"subject\": \"a\"}}\n\
             {{\"source_key\": \"zz\", \"change_key\": \"{CK}\"}}\n\
             {{\"source_key\": \"{SK}\", \"change_key\"\n\
             {{\"source_key\": \"{SK}00\", \"pcl\": \"16{CK}\", \"folder\": \"/Inbox\"}}\n"
        );
        let l = read(&text, None);
        assert_eq!(l.format, Some(ListingFormat::Normalized));
        assert!(l.format_detected);
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[0].line, 1);
        assert_eq!(l.entries[1].line, 4);
        assert_eq!(l.entries[1].folder.as_deref(), Some("/Inbox"));
        let lines: Vec<u64> = l.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3], "{:?}", l.errors);
        assert!(l.errors[0].message.contains("not hex"), "{:?}", l.errors);
        assert_eq!(l.lines, 4);
    }

    #[test]
    fn an_unusable_version_keeps_the_entry_and_says_why() {
        let text = format!("{{\"source_key\": \"{SK}\", \"change_key\": \"0102\"}}\n");
        let l = read(&text, None);
        assert_eq!(l.entries.len(), 1);
        assert!(l.entries[0]
            .unusable
            .as_deref()
            .unwrap()
            .contains("not an XID"));
        assert_eq!(l.errors.len(), 1);
    }

    #[test]
    fn graph_pages_concatenated_pretty_and_compact() {
        let sk = parse_hex(SK).unwrap();
        let ck = parse_hex(CK).unwrap();
        let mut pcl = vec![22u8];
        pcl.extend(&ck);
        let m = graph_message(&sk, &pcl, &ck);
        let page1: Value = serde_json::from_str(&format!(
            "{{\"@odata.context\": \"x\", \"value\": [{m}, {m}], \"@odata.nextLink\": \"n\"}}"
        ))
        .unwrap();
        let pretty = serde_json::to_string_pretty(&page1).unwrap();
        let text = format!("{pretty}\n{{\"value\": [{m}]}}\n{m}\n");
        let l = read(&text, None);
        assert_eq!(l.format, Some(ListingFormat::Graph));
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.entries.len(), 4);
        assert_eq!(l.entries[0].source_key, sk);
        assert_eq!(l.entries[0].change_key.as_deref(), Some(&ck[..]));
        assert_eq!(
            l.entries[0].change_key_origin,
            Some(ChangeKeyOrigin::EwsChangeKey)
        );
        assert_eq!(l.entries[0].pcl.as_deref(), Some(&pcl[..]));
        // Each message of the pretty page on its own line.
        let first = pretty.lines().position(|l| l == "    {").unwrap() as u64 + 1;
        assert_eq!(l.entries[0].line, first);
        assert!(l.entries[1].line > l.entries[0].line);
        let last = pretty.lines().count() as u64;
        assert_eq!(l.entries[2].line, last + 1);
        assert_eq!(l.entries[3].line, last + 2);
        // A JSON array of messages, with a byte order mark.
        let l = read(&format!("\u{feff}[\n{m},\n{m}\n]\n"), None);
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[1].line, 3);
    }

    #[test]
    fn extended_change_key_wins_and_ids_ignore_case() {
        let sk = parse_hex(SK).unwrap();
        let ck = parse_hex(CK).unwrap();
        let mut other = ck.clone();
        other[21] = 9;
        let m = serde_json::json!({
            "changeKey": "not even base64!",
            "SingleValueExtendedProperties": [
                {"Id": "BINARY 0x65E0", "Value": base64_encode(&sk)},
                {"id": "Binary 0x65E20102", "value": base64_encode(&other)},
            ]
        });
        let l = read(&m.to_string(), Some(ListingFormat::Graph));
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.entries[0].change_key.as_deref(), Some(&other[..]));
        assert_eq!(
            l.entries[0].change_key_origin,
            Some(ChangeKeyOrigin::ExtendedProperty)
        );
    }

    #[test]
    fn graph_problems_are_located() {
        let sk = parse_hex(SK).unwrap();
        let no_key =
            serde_json::json!({"changeKey": "CQAAAA==", "singleValueExtendedProperties": []});
        let bad_ews = serde_json::json!({
            "changeKey": base64_encode(&[9, 0, 0, 0, 30, 0, 0, 0, 1, 2]),
            "singleValueExtendedProperties": [{"id": "Binary 0x65e0", "value": base64_encode(&sk)}]
        });
        let bad_b64 = serde_json::json!({
            "singleValueExtendedProperties": [{"id": "Binary 0x65e0", "value": "@@@@"}]
        });
        let error = serde_json::json!({"error": {"code": "ErrorAccessDenied", "message": "no"}});
        let text = format!("{no_key}\n{bad_ews}\n{bad_b64}\n{error}\n\x00\x01garbage\n");
        let l = read(&text, None);
        let got: Vec<(u64, &str)> = l
            .errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(got.len(), 5, "{got:?}");
        assert!(got[0].1.contains("Binary 0x65e0"), "{got:?}");
        assert!(got[1].1.contains("header says 30"), "{got:?}");
        assert!(got[2].1.contains("not base64"), "{got:?}");
        assert!(got[3].1.contains("ErrorAccessDenied"), "{got:?}");
        assert_eq!(got[4].0, 5);
        // The EWS form with a bad header keeps its entry, unusable.
        assert_eq!(l.entries.len(), 1);
        assert!(l.entries[0].unusable.is_some());
    }

    #[test]
    fn framing_survives_what_breaks_it() {
        let good = format!("{{\"source_key\": \"{SK}\", \"change_key\": \"{CK}\"}}");
        // Unterminated string, a truncated object, stray text, an object
        // cut by the end of input.
        let text = format!(
            "{good}\n{{\"source_key\": \"abc\n{good}\n{{\"a\": {{\"b\": 1}}\n{good}\n]]]\n  more\n{good}\n{{\"x\": 1"
        );
        let l = read(&text, Some(ListingFormat::Normalized));
        assert_eq!(l.entries.len(), 4, "{:?}", l.errors);
        let lines: Vec<u64> = l.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 3, 5, 8]);
        let err_lines: Vec<u64> = l.errors.iter().map(|e| e.line).collect();
        assert_eq!(err_lines, [2, 4, 6, 9], "{:?}", l.errors);
        // Nothing at all.
        let l = read("", None);
        assert_eq!((l.objects, l.entries.len(), l.errors.len()), (0, 0, 0));
        // Depth is bounded.
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let l = read(&format!("{{\"a\": {deep}}}\n{good}\n"), None);
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.errors.len(), 1);
    }

    #[test]
    fn helpers() {
        assert_eq!(parse_hex("0aFf").unwrap(), [10, 255]);
        assert!(parse_hex("0").is_err());
        assert!(parse_hex("0g").unwrap_err().contains("position 1"));
        assert_eq!(binary_tag("Binary 0x65e0"), Some(0x65E0));
        assert_eq!(binary_tag("binary 0x65E30102"), Some(0x65E3));
        assert_eq!(binary_tag("String 0x0037"), None);
        assert_eq!(
            binary_tag("Binary {00062008-0000-0000-c000-000000000046} Id 0x8501"),
            None
        );
        assert_eq!(ews_change_key(&[9, 0, 0, 0, 1, 0, 0, 0, 7]).unwrap(), [7]);
        assert!(ews_change_key(&[9, 0, 0]).is_err());
        assert_eq!(ListingFormat::parse("GRAPH"), Some(ListingFormat::Graph));
    }
}
