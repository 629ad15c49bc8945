//! [`Reader`]: the bytes of an opened file (a read-only memory map, or a
//! slice), its decoded header, the reading options and the log of
//! integrity problems. The bottom of the NDB layer: B-tree pages and blocks
//! are read through it, and it knows nothing of either.
//!
//! An opened file is read two ways. B-tree pages (and the header) come from
//! the map: they are few, and every lookup reads the same upper pages again.
//! Blocks are read with positioned reads into a buffer of their own size:
//! most are read once, and touching each through the map costs a page fault
//! that maps its neighbours too ("fault-around"), then unmapping all of them
//! at the end. On a 2 GB store with one property block per 50 KB that was
//! more than a third of a scan's CPU time (docs/performance.md).

use std::borrow::Cow;
use std::fs::File;
use std::path::Path;
use std::sync::Mutex;

use memmap2::Mmap;

use super::error::{file_kind_name, io_words, NdbError, NdbErrorKind, Result};
use super::format::Format;
use super::header::Header;
use super::issues::{IssueLog, Validation};
use super::os_file;

/// Bytes of one read of [`Reader::read_whole`]: large enough for the
/// device to stream, small enough to stay in the CPU's caches while hashed.
const WHOLE_READ_CHUNK: usize = 1 << 20;

/// Options for opening a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    pub validation: Validation,
    /// Check the CRC of every data block read. Page CRCs are always checked.
    pub verify_block_crc: bool,
    /// How much of the file the caller will read: decides how a file that
    /// is not in the page cache is read (Linux).
    pub access: Access,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            validation: Validation::Lenient,
            verify_block_crc: true,
            access: Access::Sparse,
        }
    }
}

/// How much of an opened file its reader will read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A few percent, here and there: a walk's B-tree pages, tables and
    /// the start of each item. Blocks that are not cached are read direct,
    /// many at a time when asked for ahead, and nothing around them
    /// (`cold.rs`): a cold scan reads a few percent of the file.
    Sparse,
    /// Most of it: every block (`info --verify`), every body (`diff`).
    /// Through the page cache, with the kernel's readahead: read one block
    /// at a time, direct, such a reader was 10-16 times slower on a cold
    /// file (docs/performance.md).
    Most,
}

enum Source<'a> {
    /// An opened file: the map for pages, the file for blocks.
    File {
        map: Mmap,
        file: File,
        /// Direct reads of what is not cached (Linux; see `cold.rs`).
        #[cfg(target_os = "linux")]
        cold: Option<super::cold::ColdReader>,
    },
    Slice(&'a [u8]),
    Owned(Vec<u8>),
}

/// The bytes of a PST/OST file and what reading them keeps.
pub(crate) struct Reader<'a> {
    source: Source<'a>,
    header: Header,
    options: ReadOptions,
    issues: IssueLog,
    /// Every block read (offset, size), when asked for ([`Reader::log_reads`]).
    read_log: Option<Mutex<Vec<(u64, u64)>>>,
}

impl Reader<'static> {
    /// Open a file read-only and map it. The file is never written.
    pub(crate) fn open(path: &Path, options: ReadOptions) -> Result<Reader<'static>> {
        let io = |e: std::io::Error| NdbError::new("file", 0, NdbErrorKind::Io(io_words(&e)));
        let not_a_file = |kind| NdbError::new("file", 0, NdbErrorKind::NotAFile(kind));
        // Checked before opening (opening a device can have side effects,
        // e.g. rewind a tape) and again on the opened file (the path may
        // have been replaced in between): only a regular file is read.
        let kind = std::fs::metadata(path).map_err(io)?.file_type();
        if let Some(kind) = non_regular(kind) {
            return Err(not_a_file(kind));
        }
        let file = os_file::open_read_only(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if let Some(kind) = non_regular(meta.file_type()) {
            return Err(not_a_file(kind));
        }
        let len = meta.len();
        if len == 0 {
            // mmap of an empty file fails on some platforms; say what it is.
            return Err(NdbError::new("file", 0, NdbErrorKind::Empty));
        }
        // SAFETY: the map is read-only. Another process truncating or writing
        // the file while it is mapped can change what we read or raise
        // SIGBUS; docs/robustness.md documents this limit. Evidence files are
        // copies nobody writes.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        #[cfg(target_os = "linux")]
        let cold = match options.access {
            Access::Sparse => super::cold::ColdReader::new(path, &file, &map),
            Access::Most => None,
        };
        Reader::from_source(
            Source::File {
                map,
                file,
                #[cfg(target_os = "linux")]
                cold,
            },
            options,
        )
    }

    /// Take ownership of bytes already in memory.
    pub(crate) fn from_vec(bytes: Vec<u8>, options: ReadOptions) -> Result<Reader<'static>> {
        Reader::from_source(Source::Owned(bytes), options)
    }
}

impl<'a> Reader<'a> {
    /// Read a file held in memory, borrowing it.
    pub(crate) fn from_slice(bytes: &'a [u8], options: ReadOptions) -> Result<Reader<'a>> {
        Reader::from_source(Source::Slice(bytes), options)
    }

    fn from_source(source: Source<'a>, options: ReadOptions) -> Result<Reader<'a>> {
        let bytes: &[u8] = match &source {
            Source::File { map, .. } => map,
            Source::Slice(s) => s,
            Source::Owned(v) => v,
        };
        let header = Header::parse(bytes)?;
        let file_len = bytes.len() as u64;
        let reader = Reader {
            source,
            header,
            options,
            issues: IssueLog::new(options.validation),
            read_log: None,
        };
        if let Some(e) = reader.header.crc_error() {
            reader.integrity(e)?;
        }
        if reader.header.root.file_eof > file_len {
            // A truncated copy: everything past the end reads as out of bounds.
            reader.record(NdbError::new(
                "header ibFileEof",
                reader.header.root.file_eof,
                NdbErrorKind::CutShort {
                    len: file_len,
                    eof: reader.header.root.file_eof,
                },
            ));
        }
        Ok(reader)
    }

    /// Keep the offset and size of every block read from now on, and of
    /// every block read ahead on a cold file.
    pub(crate) fn log_reads(&mut self) {
        self.read_log = Some(Mutex::new(Vec::new()));
        #[cfg(target_os = "linux")]
        if let Some((cold, ..)) = self.cold() {
            cold.log_reads();
        }
    }

    /// The blocks read since [`Reader::log_reads`] (offset, size): those
    /// the callers read, in the order they were read, then those read
    /// ahead (taken or not); empty without it.
    pub(crate) fn logged_reads(&self) -> Vec<(u64, u64)> {
        let mut reads = self.read_log.as_ref().map_or(Vec::new(), |log| {
            log.lock().unwrap_or_else(|p| p.into_inner()).clone()
        });
        #[cfg(target_os = "linux")]
        if let Some((cold, ..)) = self.cold() {
            reads.extend(cold.logged_reads());
        }
        reads
    }

    /// The cold reader of an opened file (when direct reads are possible),
    /// with the file's map and descriptor.
    #[cfg(target_os = "linux")]
    fn cold(&self) -> Option<(&super::cold::ColdReader, &Mmap, &File)> {
        match &self.source {
            Source::File {
                cold: Some(cold),
                map,
                file,
            } => Some((cold, map, file)),
            _ => None,
        }
    }

    /// The ranges of the B-tree pages at offsets `pages`.
    #[cfg(target_os = "linux")]
    fn page_ranges(&self, pages: &[u64]) -> Vec<(u64, u64)> {
        let page = self.format().page_size() as u64;
        pages.iter().map(|&ib| (ib, page)).collect()
    }

    /// The whole file, in order, a piece at a time, to `each`: an opened
    /// file with positioned reads of [`WHOLE_READ_CHUNK`] bytes, not
    /// through the map. The map of a file found cold is marked random
    /// (`cold.rs`), and read through it page by page a 1.3 GB store took
    /// three times as long as `sha256sum`. The same bytes as
    /// [`Reader::bytes`]: the file as it was when opened.
    pub(crate) fn read_whole(&self, mut each: impl FnMut(&[u8])) -> std::io::Result<()> {
        let Source::File { file, map, .. } = &self.source else {
            each(self.bytes());
            return Ok(());
        };
        let len = map.len() as u64;
        let mut buf = vec![0u8; WHOLE_READ_CHUNK.min(len as usize)];
        let mut offset = 0u64;
        while offset < len {
            let n = (len - offset).min(buf.len() as u64) as usize;
            os_file::read_exact_at(file, &mut buf[..n], offset)?;
            each(&buf[..n]);
            offset += n as u64;
        }
        Ok(())
    }

    /// The whole file.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.source {
            Source::File { map, .. } => map,
            Source::Slice(s) => s,
            Source::Owned(v) => v,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> u64 {
        self.bytes().len() as u64
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    #[inline]
    pub(crate) fn format(&self) -> Format {
        self.header.format
    }

    #[inline]
    pub(crate) fn options(&self) -> ReadOptions {
        self.options
    }

    /// `len` bytes at `offset`, or an `OutOfBounds` error naming `structure`.
    pub(crate) fn slice(&self, structure: &'static str, offset: u64, len: u64) -> Result<&[u8]> {
        let bytes = self.bytes();
        let end = offset.saturating_add(len);
        if end > bytes.len() as u64 {
            return Err(NdbError::new(
                structure,
                offset,
                NdbErrorKind::OutOfBounds {
                    needed: end,
                    available: bytes.len() as u64,
                },
            ));
        }
        // In bounds: both fit in usize because they are <= bytes.len().
        Ok(&bytes[offset as usize..end as usize])
    }

    /// `len` bytes of a block at `offset`: read from the file into a buffer
    /// of their own when the file is open (see the module comment), borrowed
    /// otherwise. Callers bound `len` by the format's largest block.
    pub(crate) fn block_bytes(
        &self,
        structure: &'static str,
        offset: u64,
        len: u64,
    ) -> Result<Cow<'_, [u8]>> {
        #[cfg(target_os = "linux")]
        let cold = self.cold();
        #[cfg(target_os = "linux")]
        if let (Some((cold, map, _)), true) = (cold, PEEKING.with(|p| p.get())) {
            // Looked into, not read: left for the read that takes it.
            self.slice(structure, offset, len)?;
            if let Some(buf) = cold.peek(offset, len as usize) {
                return Ok(Cow::Owned(buf));
            }
            if cold.any_uncached(map, &[(offset, len)]) {
                return Err(NdbError::new(
                    structure,
                    offset,
                    NdbErrorKind::Io("not read ahead".into()),
                ));
            }
        }
        if let Some(log) = &self.read_log {
            log.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((offset, len));
        }
        let Source::File { file, map, .. } = &self.source else {
            return self.slice(structure, offset, len).map(Cow::Borrowed);
        };
        // The same bounds as the map: the file as it was when opened.
        self.slice(structure, offset, len)?;
        #[cfg(target_os = "linux")]
        if let Some(buf) = cold.and_then(|(c, ..)| c.take(offset, len as usize)) {
            return Ok(Cow::Owned(buf));
        }
        let mut buf = vec![0u8; len as usize];
        #[cfg(target_os = "linux")]
        // A direct read that fails for any reason leaves the block to the
        // ordinary read below, as a failed read-ahead does: that read says
        // what is wrong with the file, if anything is.
        if let Some((cold, ..)) = cold {
            if let Ok(true) = cold.read_uncached(map, &mut buf, offset) {
                return Ok(Cow::Owned(buf));
            }
        }
        let _ = map;
        os_file::read_exact_at(file, &mut buf, offset).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                // Shorter now than when it was opened.
                NdbErrorKind::OutOfBounds {
                    needed: offset.saturating_add(len),
                    available: file.metadata().map_or(0, |m| m.len()),
                }
            } else {
                NdbErrorKind::Io(io_words(&e))
            };
            NdbError::new(structure, offset, kind)
        })?;
        Ok(Cow::Owned(buf))
    }

    /// Read ahead, where the file is not cached, the blocks at `blocks`
    /// (offset, size) that the caller is about to read (`cold.rs`), after
    /// the B-tree pages at `pages` (offsets), which are asked of the kernel
    /// first. Nothing on a cached file, on other systems, or on bytes in
    /// memory. True when some of the blocks were not cached.
    pub(crate) fn read_ahead(&self, pages: &[u64], blocks: &[(u64, u64)]) -> bool {
        #[cfg(target_os = "linux")]
        if let Some((cold, map, file)) = self.cold() {
            cold.will_need(file, map, &self.page_ranges(pages));
            return cold.read_ahead(map, blocks);
        }
        let _ = (pages, blocks);
        false
    }

    /// False when nothing can be read ahead: bytes in memory, a file system
    /// without direct reads, a file found cached when it was opened. Asked
    /// first, so that a warm file pays nothing for read-ahead requests.
    pub(crate) fn may_read_ahead(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Some((cold, ..)) = self.cold() {
            return cold.may_read_ahead();
        }
        false
    }

    /// True when this file may be read ahead and some of the B-tree pages
    /// at `pages` are not cached: a cold file.
    pub(crate) fn pages_uncached(&self, pages: &[u64]) -> bool {
        #[cfg(target_os = "linux")]
        if let Some((cold, map, _)) = self.cold() {
            return cold.any_uncached(map, &self.page_ranges(pages));
        }
        let _ = pages;
        false
    }

    /// True once a read-ahead found this file out of the page cache.
    pub(crate) fn reading_ahead(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Some((cold, ..)) = self.cold() {
            return cold.used();
        }
        false
    }

    /// See [`IssueLog::integrity`].
    #[inline]
    pub(crate) fn integrity(&self, e: NdbError) -> Result<()> {
        self.issues.integrity(e)
    }

    /// See [`IssueLog::record`].
    #[inline]
    pub(crate) fn record(&self, e: NdbError) {
        self.issues.record(e)
    }

    /// Run `f` with this thread's block reads made from what was read
    /// ahead and the page cache only, the blocks read ahead left for the
    /// read that takes them: a block that would wait for the device is an
    /// error instead. For a read-ahead that looks into the blocks it asked
    /// for (a subnode block, an XBLOCK) to know what to ask for next.
    pub(crate) fn peeking<T>(&self, f: impl FnOnce() -> T) -> T {
        super::issues::with_flag_set(&PEEKING, f)
    }

    /// See [`IssueLog::quietly`].
    #[inline]
    pub(crate) fn quietly<T>(&self, f: impl FnOnce() -> T) -> T {
        self.issues.quietly(f)
    }

    /// See [`IssueLog::issues`].
    pub(crate) fn issues(&self) -> (Vec<NdbError>, u64) {
        self.issues.issues()
    }
}

thread_local! {
    /// Set inside [`Reader::peeking`].
    static PEEKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// What a file type is when it is not a regular file, for
/// [`NdbErrorKind::NotAFile`]; `None` for a regular file.
fn non_regular(kind: std::fs::FileType) -> Option<&'static str> {
    (!kind.is_file()).then(|| file_kind_name(kind))
}
