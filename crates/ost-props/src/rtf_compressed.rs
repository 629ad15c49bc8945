//! Compressed RTF ([MS-OXRTFCP]): the form PR_RTF_COMPRESSED (0x1009,
//! PT_BINARY) stores a message's RTF body in.
//!
//! A 16-byte header (all little-endian u32): COMPSIZE (bytes after this
//! field), RAWSIZE (bytes of RTF), COMPTYPE ("LZFu" 0x75465A4C compressed,
//! "MELA" 0x414C454D stored as is) and CRC (of the bytes after the header,
//! LZFu only; the [MS-PST] 5.3 CRC: reflected 0xEDB88320 table, started at
//! 0, never inverted). LZFu data is runs of a control byte and up to eight
//! tokens, low bit first: a 0 bit is one literal byte, a 1 bit a big-endian
//! u16 reference (12-bit offset into a 4096-byte ring dictionary, 4-bit
//! length - 2). The dictionary starts with a fixed 207-byte RTF prefix; a
//! reference whose offset is the dictionary's write position ends the data.
//!
//! Every field is hostile input: RAWSIZE is only a hint (the output is
//! never allocated from it beyond the caller's cap), COMPSIZE is checked
//! against the bytes actually given, and nothing here panics or loops
//! longer than the input, whatever the bytes.

use ost_ndb::ndb::crc::crc32;

/// Bytes of the header.
pub const HEADER_LEN: usize = 16;
/// COMPTYPE of LZFu-compressed data ("LZFu").
pub const COMPRESSED: u32 = 0x7546_5A4C;
/// COMPTYPE of uncompressed data ("MELA").
pub const UNCOMPRESSED: u32 = 0x414C_454D;

/// The dictionary's initial contents ([MS-OXRTFCP] 2.1.2.1): RTF words
/// common at the start of a document, so that a short body compresses.
const PRESET: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
const DICTIONARY_LEN: usize = 4096;

/// The header of a compressed RTF value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// COMPSIZE: bytes after this field (header rest + data).
    pub comp_size: u32,
    /// RAWSIZE: bytes of RTF the writer says it stored.
    pub raw_size: u32,
    /// COMPTYPE.
    pub comp_type: u32,
    /// CRC of the data after the header (LZFu; 0 for MELA).
    pub crc: u32,
}

impl Header {
    /// The header at the start of `value`, if it has 16 bytes.
    pub fn parse(value: &[u8]) -> Option<Header> {
        let field = |i: usize| -> Option<u32> {
            Some(u32::from_le_bytes(value.get(i..i + 4)?.try_into().ok()?))
        };
        Some(Header {
            comp_size: field(0)?,
            raw_size: field(4)?,
            comp_type: field(8)?,
            crc: field(12)?,
        })
    }
}

/// Why a value could not be read as compressed RTF at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtfError {
    /// Fewer than 16 bytes: no header.
    TooShort { len: usize },
    /// COMPTYPE is neither LZFu nor MELA.
    UnknownType { comp_type: u32 },
    /// COMPSIZE is smaller than the rest of the header.
    BadCompSize { comp_size: u32 },
}

impl std::fmt::Display for RtfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RtfError::TooShort { len } => {
                write!(f, "{len} bytes, shorter than the 16-byte header")
            }
            RtfError::UnknownType { comp_type } => write!(
                f,
                "COMPTYPE {comp_type:#010x} is neither LZFu (0x75465a4c) nor MELA (0x414c454d)"
            ),
            RtfError::BadCompSize { comp_size } => {
                write!(
                    f,
                    "COMPSIZE {comp_size} is below the 12 header bytes it counts"
                )
            }
        }
    }
}

impl std::error::Error for RtfError {}

/// Something wrong or incomplete in a value that was still read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtfIssue {
    /// The stored CRC is not that of the data.
    CrcMismatch { stored: u32, computed: u32 },
    /// COMPSIZE (or RAWSIZE for MELA) counts more bytes than were given:
    /// the value was cut, by damage or by the caller reading only its
    /// start. The CRC cannot be checked then.
    Truncated { expected: u64, available: u64 },
    /// The output reached the caller's cap; the rest was not decompressed.
    OutputCapped { cap: usize },
    /// LZFu data ended without its end reference.
    Unterminated,
    /// The RTF decompressed (complete, not capped) is not RAWSIZE bytes.
    RawSizeMismatch { raw_size: u32, produced: u64 },
}

impl RtfIssue {
    /// Whether the issue is damage in the value, rather than a limit the
    /// caller chose (reading a prefix, capping the output).
    pub fn is_damage(&self) -> bool {
        !matches!(
            self,
            RtfIssue::OutputCapped { .. } | RtfIssue::Truncated { .. }
        )
    }
}

impl std::fmt::Display for RtfIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RtfIssue::CrcMismatch { stored, computed } => {
                write!(
                    f,
                    "CRC mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            RtfIssue::Truncated {
                expected,
                available,
            } => write!(
                f,
                "value cut: header counts {expected} bytes, {available} given (CRC not checked)"
            ),
            RtfIssue::OutputCapped { cap } => write!(f, "output cut at {cap} bytes"),
            RtfIssue::Unterminated => write!(f, "LZFu data ends without its end reference"),
            RtfIssue::RawSizeMismatch { raw_size, produced } => {
                write!(f, "RAWSIZE {raw_size}, but {produced} bytes decompressed")
            }
        }
    }
}

/// RTF read from a compressed RTF value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decompressed {
    pub header: Header,
    /// The RTF bytes (at most the caller's cap).
    pub rtf: Vec<u8>,
    /// What was wrong or incomplete; the RTF is what could be read anyway.
    pub issues: Vec<RtfIssue>,
}

/// Read a PR_RTF_COMPRESSED value (or its first bytes), producing at most
/// `max_rtf` bytes of RTF. Fails only when there is no usable header;
/// damage past it (CRC, a cut value) is reported in
/// [`Decompressed::issues`] with whatever RTF could be read.
pub fn decompress(value: &[u8], max_rtf: usize) -> Result<Decompressed, RtfError> {
    let header = Header::parse(value).ok_or(RtfError::TooShort { len: value.len() })?;
    if header.comp_size < 12 {
        return Err(RtfError::BadCompSize {
            comp_size: header.comp_size,
        });
    }
    let body = &value[HEADER_LEN..];
    let mut issues = Vec::new();
    match header.comp_type {
        UNCOMPRESSED => {
            let available = body.len();
            let want = header.raw_size as usize;
            if want > available {
                issues.push(RtfIssue::Truncated {
                    expected: want as u64,
                    available: available as u64,
                });
            }
            let take = want.min(available);
            if take > max_rtf {
                issues.push(RtfIssue::OutputCapped { cap: max_rtf });
            }
            let rtf = body[..take.min(max_rtf)].to_vec();
            Ok(Decompressed {
                header,
                rtf,
                issues,
            })
        }
        COMPRESSED => {
            // COMPSIZE counts the 12 header bytes after itself, then data.
            let data_len = header.comp_size as usize - 12;
            let data = if data_len <= body.len() {
                let data = &body[..data_len];
                let computed = crc32(data);
                if computed != header.crc {
                    issues.push(RtfIssue::CrcMismatch {
                        stored: header.crc,
                        computed,
                    });
                }
                data
            } else {
                issues.push(RtfIssue::Truncated {
                    expected: u64::from(header.comp_size) + 4,
                    available: value.len() as u64,
                });
                body
            };
            let capped_before = issues.len();
            let (rtf, ended) = lzfu(data, header.raw_size, max_rtf, &mut issues);
            let capped = issues.len() > capped_before;
            let complete = data_len <= body.len();
            if complete && !ended && !capped {
                issues.push(RtfIssue::Unterminated);
            }
            if complete && ended && rtf.len() != header.raw_size as usize {
                issues.push(RtfIssue::RawSizeMismatch {
                    raw_size: header.raw_size,
                    produced: rtf.len() as u64,
                });
            }
            Ok(Decompressed {
                header,
                rtf,
                issues,
            })
        }
        comp_type => Err(RtfError::UnknownType { comp_type }),
    }
}

/// Decompress LZFu `data`, at most `max_rtf` bytes of output. Returns the
/// output and whether the end reference was met.
fn lzfu(data: &[u8], raw_size: u32, max_rtf: usize, issues: &mut Vec<RtfIssue>) -> (Vec<u8>, bool) {
    let mut dictionary = [0u8; DICTIONARY_LEN];
    dictionary[..PRESET.len()].copy_from_slice(PRESET);
    let mut write = PRESET.len();
    // RAWSIZE is a hint for the first allocation, never more than the cap.
    let mut out = Vec::with_capacity((raw_size as usize).min(max_rtf));
    let mut at = 0;
    while let Some(&control) = data.get(at) {
        at += 1;
        for bit in 0..8 {
            if control & (1 << bit) == 0 {
                let Some(&byte) = data.get(at) else {
                    return (out, false);
                };
                at += 1;
                if out.len() >= max_rtf {
                    issues.push(RtfIssue::OutputCapped { cap: max_rtf });
                    return (out, false);
                }
                out.push(byte);
                dictionary[write] = byte;
                write = (write + 1) % DICTIONARY_LEN;
            } else {
                let Some(pair) = data.get(at..at + 2) else {
                    return (out, false);
                };
                at += 2;
                let reference = u16::from_be_bytes([pair[0], pair[1]]);
                let offset = usize::from(reference >> 4);
                let len = usize::from(reference & 0xF) + 2;
                if offset == write {
                    return (out, true);
                }
                if out.len() >= max_rtf {
                    issues.push(RtfIssue::OutputCapped { cap: max_rtf });
                    return (out, false);
                }
                // Byte by byte: a reference may overlap the bytes it writes.
                for k in 0..len.min(max_rtf - out.len()) {
                    let byte = dictionary[(offset + k) % DICTIONARY_LEN];
                    out.push(byte);
                    dictionary[write] = byte;
                    write = (write + 1) % DICTIONARY_LEN;
                }
            }
        }
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [MS-OXRTFCP] 3.1.1: "{\rtf1\ansi\ansicpg1252\pard hello world}\r\n".
    const SIMPLE: [u8; 51] = [
        0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7,
        0xa7, 0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a,
        0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d,
        0x0a, 0x80, 0x0f, 0xa0, 0x00, 0x00,
    ];

    fn simple() -> &'static [u8] {
        // The example's 49 bytes (COMPSIZE 45 + 4); two spare zero bytes
        // follow so that tests can cut or pad.
        &SIMPLE[..49]
    }

    #[test]
    fn preset_is_the_specified_207_bytes() {
        assert_eq!(PRESET.len(), 207);
    }

    #[test]
    fn specification_example_decompresses() {
        let d = decompress(simple(), 1 << 20).unwrap();
        assert_eq!(
            d.rtf,
            b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n".to_vec()
        );
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        assert_eq!(d.header.raw_size, 43);
    }

    /// [MS-OXRTFCP] 3.1.2: a reference that reads the bytes it writes.
    #[test]
    fn reference_crossing_the_write_position() {
        let value = [
            0x1a, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xe2, 0xd4,
            0x4b, 0x51, 0x41, 0x00, 0x04, 0x20, 0x57, 0x58, 0x59, 0x5a, 0x0d, 0x6e, 0x7d, 0x01,
            0x0e, 0xb0,
        ];
        let d = decompress(&value, 1 << 20).unwrap();
        assert_eq!(d.rtf, b"{\\rtf1 WXYZWXYZWXYZWXYZWXYZ}".to_vec());
        assert!(d.issues.is_empty(), "{:?}", d.issues);
    }

    #[test]
    fn crc_mismatch_is_reported_and_the_text_still_read() {
        let mut bad = simple().to_vec();
        bad[12] ^= 0xFF;
        let d = decompress(&bad, 1 << 20).unwrap();
        assert!(d.rtf.ends_with(b"hello world}\r\n"));
        assert!(matches!(
            d.issues.as_slice(),
            [RtfIssue::CrcMismatch {
                computed: 0xA7C7_C5F1,
                ..
            }]
        ));
        assert!(d.issues[0].is_damage());
        // Damage in the data: the CRC says so.
        let mut bad = simple().to_vec();
        bad[30] ^= 0x01;
        let d = decompress(&bad, 1 << 20).unwrap();
        assert!(d
            .issues
            .iter()
            .any(|i| matches!(i, RtfIssue::CrcMismatch { .. })));
    }

    #[test]
    fn cut_values_give_what_they_hold() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                decompress(&simple()[..n], 100),
                Err(RtfError::TooShort { len: n })
            );
        }
        for n in HEADER_LEN..simple().len() {
            let d = decompress(&simple()[..n], 1 << 20).unwrap();
            assert!(
                matches!(d.issues[0], RtfIssue::Truncated { expected: 49, .. }),
                "{n}: {:?}",
                d.issues
            );
            assert!(
                b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n".starts_with(&d.rtf),
                "{n}"
            );
        }
        // Trailing bytes past COMPSIZE are not data.
        let d = decompress(&SIMPLE, 1 << 20).unwrap();
        assert!(d.issues.is_empty(), "{:?}", d.issues);
    }

    #[test]
    fn raw_size_is_never_trusted() {
        let mut huge = simple().to_vec();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let d = decompress(&huge, 1 << 20).unwrap();
        assert_eq!(d.rtf.len(), 43);
        assert!(d.rtf.capacity() <= 1 << 20);
        assert_eq!(
            d.issues,
            [RtfIssue::RawSizeMismatch {
                raw_size: u32::MAX,
                produced: 43
            }]
        );
        // MELA: RAWSIZE past the value reads the bytes there are.
        let mut mela = Vec::new();
        mela.extend_from_slice(&(12u32 + 5).to_le_bytes());
        mela.extend_from_slice(&u32::MAX.to_le_bytes());
        mela.extend_from_slice(&UNCOMPRESSED.to_le_bytes());
        mela.extend_from_slice(&0u32.to_le_bytes());
        mela.extend_from_slice(b"{\\rtf");
        let d = decompress(&mela, 1 << 20).unwrap();
        assert_eq!(d.rtf, b"{\\rtf");
        assert!(matches!(d.issues[0], RtfIssue::Truncated { .. }));
        let d = decompress(&mela, 3).unwrap();
        assert_eq!(d.rtf, b"{\\r");
        // COMPSIZE past the value: read what is there, CRC not checked.
        let mut long = simple().to_vec();
        long[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let d = decompress(&long, 1 << 20).unwrap();
        assert!(d.rtf.ends_with(b"world}\r\n"));
        assert!(matches!(d.issues[0], RtfIssue::Truncated { .. }));
    }

    #[test]
    fn output_stops_at_the_cap() {
        for cap in [0, 1, 5, 42, 43, 44] {
            let d = decompress(simple(), cap).unwrap();
            assert_eq!(d.rtf.len(), cap.min(43));
            if cap < 43 {
                assert_eq!(d.issues, [RtfIssue::OutputCapped { cap }]);
                assert!(!d.issues[0].is_damage());
            } else {
                assert!(d.issues.is_empty(), "{cap}: {:?}", d.issues);
            }
        }
        // A run of maximal references expands 8.5 times; the cap holds.
        let run: Vec<u8> = std::iter::once(0xFF)
            .chain([0x00, 0x0F].repeat(8))
            .collect();
        let data = run.repeat(1000);
        let value = lzfu_value(&data, 0);
        let d = decompress(&value, 10_000).unwrap();
        assert_eq!(d.rtf.len(), 10_000);
    }

    #[test]
    fn header_errors() {
        let mut v = simple().to_vec();
        v[8..12].copy_from_slice(b"ABCD");
        assert!(matches!(
            decompress(&v, 100),
            Err(RtfError::UnknownType { .. })
        ));
        let mut v = simple().to_vec();
        v[0..4].copy_from_slice(&11u32.to_le_bytes());
        assert_eq!(
            decompress(&v, 100),
            Err(RtfError::BadCompSize { comp_size: 11 })
        );
        assert!(!RtfError::TooShort { len: 3 }.to_string().is_empty());
    }

    #[test]
    fn unterminated_data_is_reported() {
        // One literal, no end reference.
        let value = lzfu_value(&[0x00, b'x'], 1);
        let d = decompress(&value, 100).unwrap();
        assert_eq!(d.rtf, b"x");
        assert_eq!(d.issues, [RtfIssue::Unterminated]);
    }

    /// An LZFu value around `data` with a correct CRC.
    fn lzfu_value(data: &[u8], raw_size: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(data.len() as u32 + 12).to_le_bytes());
        v.extend_from_slice(&raw_size.to_le_bytes());
        v.extend_from_slice(&COMPRESSED.to_le_bytes());
        v.extend_from_slice(&crc32(data).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_within_bounds(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600), cap in 0usize..3000) {
            if let Ok(d) = decompress(&bytes, cap) {
                proptest::prop_assert!(d.rtf.len() <= cap);
            }
        }

        #[test]
        fn any_lzfu_data_decodes_within_bounds(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600), raw in proptest::num::u32::ANY) {
            let d = decompress(&lzfu_value(&data, raw), 4096).unwrap();
            proptest::prop_assert!(d.rtf.len() <= 4096);
            proptest::prop_assert!(d.rtf.capacity() <= 4096);
            let crc_ok = !d.issues.iter().any(|i| matches!(i, RtfIssue::CrcMismatch { .. }));
            proptest::prop_assert!(crc_ok);
        }

        /// Whatever Microsoft's `compressed-rtf` crate compresses, this
        /// reader gives back (an independent compressor as the oracle).
        #[test]
        fn round_trips_the_reference_compressor(text in "[ -~\r\n\t]{0,400}") {
            let value = compressed_rtf::compress_rtf(&text).unwrap();
            let d = decompress(&value, 1 << 20).unwrap();
            proptest::prop_assert!(d.issues.is_empty(), "{:?}", d.issues);
            proptest::prop_assert_eq!(d.rtf, text.as_bytes().to_vec());
        }
    }
}
