//! Blocks ([MS-PST] 2.2.2.8): payload, padding to the format's alignment,
//! then a trailer with size, signature, CRC and back pointer. External
//! (data) blocks are encoded with the file's crypt method; in 4K files they
//! may also be zlib-compressed. Internal blocks hold the data trees (XBLOCK,
//! XXBLOCK) and subnode trees (SLBLOCK, SIBLOCK), parsed in
//! `internal_block.rs`.
//!
//! A block is read and checked through the `Reader` (`reader.rs`) from
//! the BBT entry that locates it; looking that entry up is the caller's.

use std::borrow::Cow;
use std::cell::RefCell;

use super::btree::BbtEntry;
use super::bytes::{u16_at, u32_at, uint_at};
use super::crc::crc32;
use super::crypt::CryptMethod;
use super::error::{NdbError, NdbErrorKind, Result};
use super::format::Format;
use super::ids::Bid;
use super::page::compute_sig;
use super::reader::Reader;

/// Published here first; parsed in `internal_block.rs`.
pub use super::internal_block::{btype, InternalHeader};

/// A decoded block trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockTrailer {
    pub cb: u16,
    pub sig: u16,
    pub crc: u32,
    pub bid: u64,
    /// 4K only: the payload size after inflation (equal to `cb` when the
    /// block is stored uncompressed).
    pub cb_inflated: Option<u16>,
}

impl BlockTrailer {
    pub fn parse(t: &[u8], format: Format) -> Option<BlockTrailer> {
        let wide = format != Format::Ansi;
        Some(BlockTrailer {
            cb: u16_at(t, 0)?,
            sig: u16_at(t, 2)?,
            // ANSI puts its 4-byte BID before the CRC; the others, their
            // 8-byte BID after it.
            crc: u32_at(t, if wide { 4 } else { 8 })?,
            bid: uint_at(t, if wide { 8 } else { 4 }, wide)?,
            cb_inflated: match format {
                Format::Unicode4k => Some(u16_at(t, 18)?),
                Format::Ansi | Format::Unicode => None,
            },
        })
    }

    /// True when the payload is stored deflated (4K only).
    pub fn is_compressed(&self) -> bool {
        self.cb_inflated.is_some_and(|n| n != self.cb)
    }
}

/// A block as stored: its payload bytes still encoded / compressed.
#[derive(Debug, Clone)]
pub struct RawBlock<'a> {
    pub bid: Bid,
    /// File offset of the block.
    pub ib: u64,
    /// The `cb` stored payload bytes: borrowed from a slice, or read from
    /// the file into a buffer that decoding then reuses.
    pub stored: Cow<'a, [u8]>,
    pub trailer: BlockTrailer,
}

impl RawBlock<'_> {
    /// Payload size once decoded and inflated.
    pub fn data_size(&self) -> usize {
        match self.trailer.cb_inflated {
            Some(n) if self.trailer.is_compressed() => n as usize,
            _ => self.stored.len(),
        }
    }
}

impl<'a> RawBlock<'a> {
    /// Read and check the block a BBT entry describes: size and alignment
    /// before reading, then its trailer against the entry (size, back
    /// pointer), its signature and, when the options ask, its CRC.
    /// Integrity failures go to the reader's issue log.
    pub(crate) fn read(reader: &'a Reader<'_>, entry: &BbtEntry) -> Result<RawBlock<'a>> {
        let f = reader.format();
        let cb = entry.cb as u64;
        let size = f.block_size_for(cb);
        let err = |kind| NdbError::new("block", entry.ib, kind).with_bid(entry.bid.0);
        if size > f.max_block_size() {
            return Err(err(NdbErrorKind::BadField {
                field: "cb",
                value: cb,
            }));
        }
        if entry.ib % f.block_alignment() != 0 {
            return Err(err(NdbErrorKind::BadField {
                field: "ib (alignment)",
                value: entry.ib,
            }));
        }
        let bytes = reader.block_bytes("block", entry.ib, size)?;
        let t_off = size as usize - f.block_trailer_size();
        let trailer = BlockTrailer::parse(&bytes[t_off..], f).ok_or_else(|| {
            err(NdbErrorKind::OutOfBounds {
                needed: entry.ib + size,
                available: reader.len(),
            })
        })?;
        if trailer.cb != entry.cb {
            // The trailer and the BBT disagree on the size: the bytes we would
            // read are not this block.
            return Err(err(NdbErrorKind::BadField {
                field: "cb (trailer vs BBT)",
                value: trailer.cb as u64,
            }));
        }
        if trailer.bid & !1 != entry.bid.key() {
            reader.integrity(err(NdbErrorKind::BidMismatch {
                expected: entry.bid.0,
                found: trailer.bid,
            }))?;
        }
        let sig = compute_sig(entry.ib, trailer.bid);
        if trailer.sig != sig {
            reader.integrity(err(NdbErrorKind::SignatureMismatch {
                stored: trailer.sig,
                computed: sig,
            }))?;
        }
        if reader.options().verify_block_crc {
            let computed = crc32(&bytes[..cb as usize]);
            if computed != trailer.crc {
                reader.integrity(err(NdbErrorKind::CrcMismatch {
                    stored: trailer.crc,
                    computed,
                }))?;
            }
        }
        let stored = match bytes {
            Cow::Borrowed(b) => Cow::Borrowed(&b[..cb as usize]),
            Cow::Owned(mut v) => {
                v.truncate(cb as usize);
                Cow::Owned(v)
            }
        };
        Ok(RawBlock {
            bid: entry.bid,
            ib: entry.ib,
            stored,
            trailer,
        })
    }

    /// The payload, decoded with the file's `crypt` method (data blocks
    /// only) and inflated. A block read into a buffer of its own is decoded
    /// in place; one borrowed from the map stays borrowed when nothing
    /// needs undoing.
    pub(crate) fn decode(self, crypt: CryptMethod) -> Result<Cow<'a, [u8]>> {
        let crypt = if self.bid.is_internal() {
            CryptMethod::None
        } else {
            crypt
        };
        if self.trailer.is_compressed() {
            let size = self.data_size();
            let first = match inflate(&self.stored, self.ib, self.bid, size) {
                Ok(inflated) => return Ok(Cow::Owned(inflated)),
                Err(e) => e,
            };
            // Compressed blocks seen so far are not encoded; if the bytes
            // are not a zlib stream, try decoding them first.
            if crypt == CryptMethod::None {
                return Err(first);
            }
            let mut decoded = self.stored.into_owned();
            crypt.decode(&mut decoded, self.bid.0);
            return inflate(&decoded, self.ib, self.bid, size)
                .map(Cow::Owned)
                .map_err(|_| first);
        }
        if crypt == CryptMethod::None {
            return Ok(self.stored);
        }
        let mut data = self.stored.into_owned();
        crypt.decode(&mut data, self.bid.0);
        Ok(Cow::Owned(data))
    }
}

/// Inflate the stored bytes of the compressed 4K block `bid` at `ib` into
/// exactly `size` bytes.
fn inflate(stored: &[u8], ib: u64, bid: Bid, size: usize) -> Result<Vec<u8>> {
    thread_local! {
        /// The thread's inflater, reset for each block: a new one costs an
        /// allocation of its state per block.
        static INFLATER: RefCell<Option<zlib_rs::Inflate>> = const { RefCell::new(None) };
    }
    let err =
        |m: String| NdbError::new("compressed block", ib, NdbErrorKind::Inflate(m)).with_bid(bid.0);
    // One byte past the stated size, to notice a stream that is longer.
    // Not zeroed first (1% of a warm OST scan): the inflater writes into
    // the spare capacity and says how much it wrote.
    let room = size + 1;
    let mut out: Vec<u8> = Vec::with_capacity(room);
    let inflated = INFLATER.with(|cell| {
        let mut cell = cell.borrow_mut();
        let inflater = cell.get_or_insert_with(|| zlib_rs::Inflate::new(true, 15));
        inflater.reset(true);
        let spare = &mut out.spare_capacity_mut()[..room];
        let status = inflater.decompress_uninit(stored, spare, zlib_rs::InflateFlush::Finish);
        status.map(|status| (status, (inflater.total_out() as usize).min(room)))
    });
    let len = match inflated {
        Err(_) => return Err(err("corrupt deflate stream".to_string())),
        // The input ran out before the stream's end, with room left.
        Ok((status, len)) if status != zlib_rs::Status::StreamEnd && len <= size => {
            return Err(err("incomplete deflate stream".to_string()))
        }
        Ok((_, len)) => len,
    };
    // SAFETY: the inflater, reset above, wrote `len` bytes (its
    // `total_out`) from the start of the spare capacity, and `len` is at
    // most `room`, which the capacity holds.
    unsafe { out.set_len(len) };
    if out.len() != size {
        return Err(err(format!(
            "inflated to {} bytes, trailer says {size}",
            out.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_per_format() {
        let mut t = [0u8; 24];
        t[0..2].copy_from_slice(&456u16.to_le_bytes());
        t[2..4].copy_from_slice(&0xF9B6u16.to_le_bytes());
        t[4..8].copy_from_slice(&0xE62A_0EBFu32.to_le_bytes());
        t[8..16].copy_from_slice(&69820u64.to_le_bytes());
        t[16..18].copy_from_slice(&2u16.to_le_bytes());
        t[18..20].copy_from_slice(&456u16.to_le_bytes());
        let k = BlockTrailer::parse(&t, Format::Unicode4k).unwrap();
        assert_eq!(k.cb, 456);
        assert_eq!(k.bid, 69820);
        assert!(!k.is_compressed());
        t[18..20].copy_from_slice(&1000u16.to_le_bytes());
        assert!(BlockTrailer::parse(&t, Format::Unicode4k)
            .unwrap()
            .is_compressed());
        let u = BlockTrailer::parse(&t, Format::Unicode).unwrap();
        assert_eq!(u.cb_inflated, None);
        let a = BlockTrailer::parse(&t, Format::Ansi).unwrap();
        assert_eq!(a.bid, 0xE62A_0EBF);
    }

    /// What `inflate` did before it kept a decompressor per thread
    /// (flate2's `Read` adapter): the reference its results and messages
    /// are held to.
    fn inflate_by_reader(stored: &[u8], size: usize) -> std::result::Result<Vec<u8>, String> {
        use std::io::Read;
        let mut out = Vec::with_capacity(size);
        flate2::read::ZlibDecoder::new(stored)
            .take(size as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| e.to_string())?;
        if out.len() != size {
            return Err(format!(
                "inflated to {} bytes, trailer says {size}",
                out.len()
            ));
        }
        Ok(out)
    }

    /// On whole, cut and lengthened streams, and stated sizes too small or
    /// too large, the per-thread decompressor gives the bytes, or the
    /// message, that the `Read` adapter gave; on damaged streams, the same
    /// bytes or an error (which of two messages can differ: a stream that
    /// inflates past its stated size and is damaged further on).
    #[test]
    fn inflate_agrees_with_the_reader_on_damaged_streams() {
        use std::io::Write;
        let text: Vec<u8> = (0..6000u32)
            .flat_map(|i| format!("line {i} of a body {} ", i % 7).into_bytes())
            .take(7000)
            .collect();
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&text).unwrap();
        let stream = encoder.finish().unwrap();
        let exact: Vec<(Vec<u8>, usize)> = vec![
            (stream.clone(), text.len()),
            (stream.clone(), text.len() - 1),
            (stream.clone(), text.len() + 1),
            (stream[..stream.len() / 2].to_vec(), text.len()),
            (stream[..stream.len() - 4].to_vec(), text.len()),
            ([stream.as_slice(), b"trailing"].concat(), text.len()),
            (Vec::new(), 10),
        ];
        let as_message = |r: Result<Vec<u8>>| {
            r.map_err(|e| match e.kind {
                NdbErrorKind::Inflate(m) => m,
                other => format!("{other:?}"),
            })
        };
        for (i, (stored, size)) in exact.iter().enumerate() {
            let ours = as_message(inflate(stored, 0x1000, Bid(8), *size));
            assert_eq!(ours, inflate_by_reader(stored, *size), "case {i}");
        }
        let mut cases = Vec::new();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..300 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut damaged = stream.clone();
            let at = (seed % damaged.len() as u64) as usize;
            damaged[at] ^= (seed >> 32) as u8 | 1;
            cases.push((damaged, text.len()));
        }
        let mut errors = 0;
        for (i, (stored, size)) in cases.iter().enumerate() {
            let ours = inflate(stored, 0x1000, Bid(8), *size);
            errors += usize::from(ours.is_err());
            match (ours, inflate_by_reader(stored, *size)) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "damaged case {i}"),
                (Err(_), Err(_)) => {}
                (a, b) => panic!(
                    "damaged case {i}: {:?} against {:?}",
                    a.map(|v| v.len()),
                    b.map(|v| v.len())
                ),
            }
        }
        assert!(errors > 100, "only {errors} of the cases failed to inflate");
    }

    proptest::proptest! {
        /// Any stored bytes and any stated size: an error or exactly
        /// `size` bytes, never a panic (half the inputs start with a valid
        /// zlib header, so the inflater gets past it).
        #[test]
        fn inflate_any_bytes(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
            header in proptest::prelude::any::<bool>(),
            size in 0usize..70_000,
        ) {
            let stored = if header { [&[0x78, 0x9C][..], &body].concat() } else { body };
            if let Ok(out) = inflate(&stored, 0, Bid(4), size) {
                proptest::prop_assert_eq!(out.len(), size);
            }
        }
    }
}
