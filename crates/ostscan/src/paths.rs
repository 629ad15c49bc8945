//! File system paths as reports carry them: the exact bytes, never a lossy
//! rendering.
//!
//! On Linux a file name is any bytes but `/` and NUL; two names that differ
//! only in bytes that are not UTF-8 (`a\xff.ost`, `a\xfe.ost`) are two
//! files. So:
//!
//! - in JSON, a path that is UTF-8 is a string; any other is an object
//!   `{"bytes": "<base64 of the exact bytes>", "text": "<lossy rendering>"}`
//!   (ripgrep's convention for its `--json` output);
//! - in text (reports, messages on standard error), undecodable bytes and
//!   control characters are shown as `\xHH` and a backslash as `\\`, so two
//!   different paths never look the same (see [`escape`]);
//! - `batch --resume` and manifests work on the bytes ([`FilePath::bytes`],
//!   [`path_from_bytes`]).
//!
//! Base64 is a small encoder and decoder of our own (RFC 4648, standard
//! alphabet, padded): a dozen lines, where a crate would be one more
//! dependency for the evidence tool to audit.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// A path as given on the command line or found by `batch`, kept exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FilePath(PathBuf);

impl FilePath {
    pub fn new(path: &Path) -> FilePath {
        FilePath(path.to_path_buf())
    }

    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// The exact bytes of the path (on Unix, what the kernel sees).
    pub fn bytes(&self) -> &[u8] {
        self.0.as_os_str().as_encoded_bytes()
    }

    /// The path when it is UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        self.0.to_str()
    }

    /// The text form: see [`escape`].
    pub fn escaped(&self) -> String {
        escape(self.bytes())
    }

    /// The bytes a JSON path value stands for: a string's UTF-8, or the
    /// decoded `bytes` of an object. `None` for anything else.
    pub fn bytes_of_json(value: &serde_json::Value) -> Option<Vec<u8>> {
        match value {
            serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
            serde_json::Value::Object(map) => base64_decode(map.get("bytes")?.as_str()?),
            _ => None,
        }
    }
}

impl From<&Path> for FilePath {
    fn from(path: &Path) -> FilePath {
        FilePath::new(path)
    }
}

impl From<PathBuf> for FilePath {
    fn from(path: PathBuf) -> FilePath {
        FilePath(path)
    }
}

/// Shows the escaped text form.
impl fmt::Display for FilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.escaped())
    }
}

impl Serialize for FilePath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.to_str() {
            Some(text) => serializer.serialize_str(text),
            None => {
                let bytes = self.bytes();
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("bytes", &base64_encode(bytes))?;
                map.serialize_entry("text", &String::from_utf8_lossy(bytes))?;
                map.end()
            }
        }
    }
}

/// A path from its exact bytes (a manifest line). On Unix every byte
/// string is a path; elsewhere a path must be valid UTF-8 (lossy otherwise).
pub fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// A path for people: UTF-8 as it is, except that bytes which are not
/// UTF-8 and ASCII control characters (newline, escape, ...) become
/// `\xHH`, other control characters `\u{HHHH}`, and a backslash `\\`. The
/// mapping is one to one, so different paths never print the same.
pub fn escape(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii_control() => {
                    let _ = write!(out, "\\x{:02X}", c as u32);
                }
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:04X}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// The escaped text form of any path (for messages).
pub fn display(path: &Path) -> String {
    escape(path.as_os_str().as_encoded_bytes())
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64, standard alphabet, padded (RFC 4648 section 4).
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The inverse of [`base64_encode`]; `None` for anything it would not
/// have written (wrong length, stray characters, misplaced padding).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() % 4 != 0 {
        return None;
    }
    let value = |c: u8| ALPHABET.iter().position(|&a| a == c).map(|v| v as u32);
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let quads = text.len() / 4;
    for (q, quad) in text.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && q + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = n << 6 | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors_and_round_trips() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in vectors {
            assert_eq!(base64_encode(plain.as_bytes()), coded);
            assert_eq!(base64_decode(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            let coded = base64_encode(&all[..len]);
            assert_eq!(base64_decode(&coded).unwrap(), &all[..len], "{len}");
        }
        for bad in ["Zg=", "Z===", "Zg==Zg==", "Zm9*", "=Zm9"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn escape_is_visible_and_one_to_one() {
        assert_eq!(
            escape(b"plain/\xc3\xa9t\xc3\xa9.ost"),
            "plain/\u{e9}t\u{e9}.ost"
        );
        assert_eq!(escape(b"a\xff.ost"), "a\\xFF.ost");
        assert_eq!(escape(b"a\xfe.ost"), "a\\xFE.ost");
        assert_eq!(escape(b"new\nline\x1b"), "new\\x0Aline\\x1B");
        assert_eq!(escape(b"back\\xFF"), "back\\\\xFF");
        assert_ne!(escape(b"a\xff"), escape(b"a\\xFF"));
        assert_eq!(escape("c1\u{85}".as_bytes()), "c1\\u{0085}");
    }

    #[cfg(unix)]
    #[test]
    fn json_form_is_a_string_for_utf8_and_bytes_otherwise() {
        let utf8 = FilePath::new(Path::new("dir/ok.ost"));
        assert_eq!(serde_json::to_value(&utf8).unwrap(), "dir/ok.ost");
        let raw = FilePath::from(path_from_bytes(b"a\xff.ost"));
        let value = serde_json::to_value(&raw).unwrap();
        assert_eq!(value["bytes"], base64_encode(b"a\xff.ost"));
        assert_eq!(value["text"], "a\u{fffd}.ost");
        assert_eq!(FilePath::bytes_of_json(&value).unwrap(), b"a\xff.ost");
        let other = FilePath::from(path_from_bytes(b"a\xfe.ost"));
        assert_ne!(serde_json::to_value(&other).unwrap(), value);
        assert_eq!(
            FilePath::bytes_of_json(&serde_json::to_value(&utf8).unwrap()).unwrap(),
            b"dir/ok.ost"
        );
    }
}
