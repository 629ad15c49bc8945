//! [`Pst`]: an opened PST or OST file. Holds the bytes (a read-only memory
//! map, or a slice), the decoded header, the reading options and the
//! integrity problems met so far.
//!
//! An opened file is read two ways. B-tree pages (and the header) come from
//! the map: they are few, and every lookup reads the same upper pages again.
//! Blocks are read with positioned reads into a buffer of their own size:
//! most are read once, and touching each through the map costs a page fault
//! that maps its neighbours too ("fault-around"), then unmapping all of them
//! at the end. On a 2 GB store with one property block per 50 KB that was
//! more than a third of a scan's CPU time (docs/performance.md).

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use memmap2::Mmap;

use super::btree::Tree;
use super::error::{io_words, NdbError, NdbErrorKind, Result};
use super::format::Format;
use super::header::Header;
use super::os_file;
use super::routes::Routes;

thread_local! {
    /// Set inside [`Pst::quietly`].
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// How integrity failures (CRC, signature, back pointer) are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// Any integrity failure is an error.
    Strict,
    /// Integrity failures are recorded (see [`Pst::issues`]) and reading goes
    /// on with the bytes as they are. The default, for analysis of damaged
    /// evidence.
    #[default]
    Lenient,
}

/// Options for opening a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    pub validation: Validation,
    /// Check the CRC of every data block read. Page CRCs are always checked.
    pub verify_block_crc: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            validation: Validation::Lenient,
            verify_block_crc: true,
        }
    }
}

/// At most this many integrity problems are kept; a file with more is
/// hopeless and the count says so.
const MAX_ISSUES: usize = 10_000;

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

#[derive(Default)]
struct Issues {
    list: Vec<NdbError>,
    seen: HashSet<(&'static str, u64, std::mem::Discriminant<NdbErrorKind>)>,
    dropped: u64,
}

/// An opened PST/OST file.
pub struct Pst<'a> {
    source: Source<'a>,
    header: Header,
    options: ReadOptions,
    issues: Mutex<Issues>,
    /// One bit per 512-byte unit: set once the page starting there passed
    /// every check, so B-tree lookups (one per message on the hot path) do
    /// not recompute the CRC of the same upper-level pages again and again.
    verified_pages: Vec<AtomicU64>,
    /// Routes of the NBT and the BBT (in that order), built by the first
    /// lookup in each: see `routes.rs`.
    routes: [OnceLock<Option<Routes>>; 2],
    /// Every block read (offset, size), when asked for ([`Pst::log_reads`]).
    read_log: Option<Mutex<Vec<(u64, u64)>>>,
}

impl Pst<'static> {
    /// Open a file read-only and map it. The file is never written.
    pub fn open(path: impl AsRef<Path>) -> Result<Pst<'static>> {
        Pst::open_with(path, ReadOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, options: ReadOptions) -> Result<Pst<'static>> {
        let io = |e: std::io::Error| NdbError::new("file", 0, NdbErrorKind::Io(io_words(&e)));
        let not_a_file = |kind| NdbError::new("file", 0, NdbErrorKind::NotAFile(kind));
        // Checked before opening (opening a device can have side effects,
        // e.g. rewind a tape) and again on the opened file (the path may
        // have been replaced in between): only a regular file is read.
        let kind = std::fs::metadata(path.as_ref()).map_err(io)?.file_type();
        if let Some(kind) = non_regular(kind) {
            return Err(not_a_file(kind));
        }
        let file = os_file::open_read_only(path.as_ref()).map_err(io)?;
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
        let cold = super::cold::ColdReader::new(path.as_ref(), &file, &map);
        Pst::from_source(
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
    pub fn from_vec(bytes: Vec<u8>) -> Result<Pst<'static>> {
        Pst::from_source(Source::Owned(bytes), ReadOptions::default())
    }
}

impl<'a> Pst<'a> {
    /// Read a file held in memory, borrowing it.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Pst<'a>> {
        Pst::from_bytes_with(bytes, ReadOptions::default())
    }

    pub fn from_bytes_with(bytes: &'a [u8], options: ReadOptions) -> Result<Pst<'a>> {
        Pst::from_source(Source::Slice(bytes), options)
    }

    fn from_source(source: Source<'a>, options: ReadOptions) -> Result<Pst<'a>> {
        let bytes: &[u8] = match &source {
            Source::File { map, .. } => map,
            Source::Slice(s) => s,
            Source::Owned(v) => v,
        };
        let header = Header::parse(bytes)?;
        let file_len = bytes.len() as u64;
        let units = file_len.div_ceil(512).div_ceil(64) as usize;
        let pst = Pst {
            source,
            header,
            options,
            issues: Mutex::new(Issues::default()),
            verified_pages: (0..units).map(|_| AtomicU64::new(0)).collect(),
            routes: Default::default(),
            read_log: None,
        };
        if let Some(e) = pst.header.crc_error() {
            pst.integrity(e)?;
        }
        if pst.header.root.file_eof > file_len {
            // A truncated copy: everything past the end reads as out of bounds.
            pst.record(NdbError::new(
                "header ibFileEof",
                pst.header.root.file_eof,
                NdbErrorKind::CutShort {
                    len: file_len,
                    eof: pst.header.root.file_eof,
                },
            ));
        }
        Ok(pst)
    }

    /// Keep the offset and size of every block read from now on (for
    /// tests that check what a walk reads: [`Pst::logged_reads`]).
    pub fn log_reads(mut self) -> Self {
        self.read_log = Some(Mutex::new(Vec::new()));
        self
    }

    /// The blocks read since [`Pst::log_reads`] (offset, size), in the
    /// order they were read; empty without it.
    pub fn logged_reads(&self) -> Vec<(u64, u64)> {
        self.read_log.as_ref().map_or(Vec::new(), |log| {
            log.lock().unwrap_or_else(|p| p.into_inner()).clone()
        })
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        match &self.source {
            Source::File { map, .. } => map,
            Source::Slice(s) => s,
            Source::Owned(v) => v,
        }
    }

    pub fn len(&self) -> u64 {
        self.bytes().len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn format(&self) -> Format {
        self.header.format
    }

    pub fn options(&self) -> ReadOptions {
        self.options
    }

    /// `len` bytes at `offset`, or an `OutOfBounds` error naming `structure`.
    pub fn slice(&self, structure: &'static str, offset: u64, len: u64) -> Result<&[u8]> {
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
        let cold = match &self.source {
            Source::File {
                cold: Some(cold), ..
            } => Some(cold),
            _ => None,
        };
        #[cfg(target_os = "linux")]
        if let Some(buf) = cold.and_then(|c| c.take(offset, len as usize)) {
            return Ok(Cow::Owned(buf));
        }
        let mut buf = vec![0u8; len as usize];
        #[cfg(target_os = "linux")]
        if let Some(cold) = cold {
            match cold.read_uncached(map, &mut buf, offset) {
                Ok(true) => return Ok(Cow::Owned(buf)),
                Ok(false) => {}
                Err(e) => {
                    return Err(NdbError::new(
                        structure,
                        offset,
                        NdbErrorKind::Io(e.to_string()),
                    ))
                }
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
    /// memory.
    pub(crate) fn read_ahead(&self, pages: &[u64], blocks: &[(u64, u64)]) {
        #[cfg(target_os = "linux")]
        if let Source::File {
            cold: Some(cold),
            map,
            file,
        } = &self.source
        {
            let page = self.format().page_size() as u64;
            let pages: Vec<(u64, u64)> = pages.iter().map(|&ib| (ib, page)).collect();
            cold.will_need(file, map, &pages);
            cold.read_ahead(map, blocks);
        }
        let _ = (pages, blocks);
    }

    /// True when this file may be read ahead and some of the B-tree pages
    /// at `pages` are not cached: a cold file.
    pub(crate) fn pages_uncached(&self, pages: &[u64]) -> bool {
        #[cfg(target_os = "linux")]
        if let Source::File {
            cold: Some(cold),
            map,
            ..
        } = &self.source
        {
            let page = self.format().page_size() as u64;
            let pages: Vec<(u64, u64)> = pages.iter().map(|&ib| (ib, page)).collect();
            return cold.any_uncached(map, &pages);
        }
        let _ = pages;
        false
    }

    /// True once a read-ahead found this file out of the page cache: a
    /// caller may then spend some work to say what it will read next
    /// ([`Pst::prefetch_nodes`]).
    pub fn reading_ahead(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Source::File {
            cold: Some(cold), ..
        } = &self.source
        {
            return cold.used();
        }
        false
    }

    /// Where the routes of `tree` are kept.
    pub(crate) fn routes_slot(&self, tree: Tree) -> &OnceLock<Option<Routes>> {
        match tree {
            Tree::Node => &self.routes[0],
            Tree::Block => &self.routes[1],
        }
    }

    /// True when the page at `ib` was read before and passed every check.
    pub(crate) fn page_verified(&self, ib: u64) -> bool {
        let unit = ib / 512;
        self.verified_pages
            .get((unit / 64) as usize)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (unit % 64)) != 0)
    }

    pub(crate) fn mark_page_verified(&self, ib: u64) {
        let unit = ib / 512;
        if let Some(w) = self.verified_pages.get((unit / 64) as usize) {
            w.fetch_or(1 << (unit % 64), Ordering::Relaxed);
        }
    }

    /// Handle an integrity failure: an error in strict mode, a recorded issue
    /// in lenient mode.
    pub fn integrity(&self, e: NdbError) -> Result<()> {
        match self.options.validation {
            Validation::Strict => Err(e),
            Validation::Lenient => {
                self.record(e);
                Ok(())
            }
        }
    }

    /// Run `f` without recording integrity issues on this thread: for the
    /// look-ups a cold read-ahead makes of pages a warm read may never
    /// touch, so that a file's report does not depend on the page cache.
    /// (A page that fails its checks is not marked verified, so the read
    /// that needs it checks it again and records what it finds.)
    pub(crate) fn quietly<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Restore(bool);
        impl Drop for Restore {
            fn drop(&mut self) {
                QUIET.with(|q| q.set(self.0));
            }
        }
        let _restore = Restore(QUIET.with(|q| q.replace(true)));
        f()
    }

    /// Remember a problem for [`Pst::issues`] (once per structure, offset and
    /// kind of problem), unless in [`Pst::quietly`].
    pub fn record(&self, e: NdbError) {
        if QUIET.with(|q| q.get()) {
            return;
        }
        let mut issues = match self.issues.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !issues
            .seen
            .insert((e.structure, e.offset, std::mem::discriminant(&e.kind)))
        {
            return;
        }
        if issues.list.len() >= MAX_ISSUES {
            issues.dropped += 1;
        } else {
            issues.list.push(e);
        }
    }

    /// Problems recorded so far, in file order, and how many more were
    /// dropped past the cap.
    pub fn issues(&self) -> (Vec<NdbError>, u64) {
        let issues = match self.issues.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut list = issues.list.clone();
        list.sort_by_key(|e| (e.offset, e.structure));
        (list, issues.dropped)
    }
}

/// What a file type is when it is not a regular file, for
/// [`NdbErrorKind::NotAFile`]; `None` for a regular file.
fn non_regular(kind: std::fs::FileType) -> Option<&'static str> {
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("FIFO (named pipe)");
        }
        if kind.is_socket() {
            return Some("socket");
        }
        if kind.is_char_device() {
            return Some("character device");
        }
        if kind.is_block_device() {
            return Some("block device");
        }
    }
    Some("special file")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issues met inside `quietly` are not recorded; outside, and after a
    /// panic inside, they are again.
    #[test]
    fn quiet_lookups_record_nothing_and_end_with_their_scope() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/small-unicode.pst"
        );
        let bytes = std::fs::read(path).expect("testdata/small-unicode.pst");
        let pst = Pst::from_bytes(&bytes).unwrap();
        let issue = |offset| NdbError::new("test page", offset, NdbErrorKind::NotFound { key: 1 });
        let before = pst.issues().0.len();
        pst.quietly(|| pst.record(issue(1)));
        assert_eq!(pst.issues().0.len(), before);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pst.quietly(|| panic!("inside"));
        }));
        assert!(panicked.is_err());
        pst.record(issue(2));
        assert_eq!(pst.issues().0.len(), before + 1);
    }
}
