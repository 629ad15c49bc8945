//! Reading a file that is not in the page cache (Linux).
//!
//! A scan needs a few percent of a store's bytes: B-tree pages, the
//! contents tables, each message's first property block. Through the page
//! cache, a 1 KB block costs at least the 4 KiB page it sits in, and the
//! kernel's readahead (on the descriptor) and read-around (on the map)
//! pull in a hundred KiB around it: a cold scan read the whole file. So:
//!
//! - the descriptor and the map are marked random (`POSIX_FADV_RANDOM`,
//!   `MADV_RANDOM`): a miss reads the pages asked for, not their
//!   neighbours; pages already cached are used as they are;
//! - a block whose pages are not cached is read with `O_DIRECT` on a second
//!   descriptor, at sector granularity (512 bytes where the file system
//!   allows it), into an aligned buffer of the reading thread. Such a read
//!   leaves nothing in the page cache, so a later scan of the same file is
//!   as cold as this one: evidence is usually scanned once;
//! - blocks a walk will need are read ahead, many at a time: through
//!   io_uring (one thread, [`RING_DEPTH`] reads in flight) where the system
//!   allows it, else by a pool of threads; both serve every file of the
//!   process.
//!
//! All this is for readers of a few percent of the file (`Access::Sparse`,
//! a scan). One that reads most of it (`Access::Most`: `diff`'s bodies,
//! `info --verify`) has no `ColdReader`: one direct read per block, each
//! waiting for the device, made those 10-16 times slower than the page
//! cache with the kernel's readahead.
//!
//! Which pages are cached is asked of the kernel (`mincore` on the map) one
//! chunk of 64 pages at a time, the first time a block in that chunk is
//! read, and remembered: the answer may go stale, which costs a page-sized
//! read or a direct read of a cached block, never a wrong byte.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use memmap2::Mmap;

/// Pages per residency chunk: one `u64` mask each.
const CHUNK_PAGES: u64 = 64;

/// Marks the cached pages of the file, found out chunk by chunk, and
/// reads what is not cached with `O_DIRECT`.
pub(crate) struct ColdReader {
    /// What the read-ahead threads ([`POOL`]) share with the readers of
    /// blocks.
    shared: Arc<Shared>,
}

struct Shared {
    direct: File,
    page: u64,
    /// Sector size the direct reads are aligned to (512, or 4096 after a
    /// file system refused 512).
    align: AtomicU64,
    /// Set when direct reads failed in a way alignment does not explain:
    /// every read then goes through the page cache.
    disabled: AtomicBool,
    /// Per chunk: bit `i` set when page `i` of the chunk was cached.
    resident: Vec<AtomicU64>,
    /// Per chunk (one bit each): whether `resident` holds an answer.
    known: Vec<AtomicU64>,
    /// Set when a sample of pages found the whole file cached: every read
    /// then goes through the page cache without a residency check (on a
    /// warm 2 GB store, a `mincore` per chunk cost 8% of the scan).
    warm: AtomicBool,
    /// Blocks asked for ahead ([`ColdReader::read_ahead`]) and not yet
    /// taken, and the queue of those still to read.
    ahead: Mutex<Ahead>,
    /// Signalled when a block asked for ahead was read (or failed).
    done: Condvar,
    /// Whether `ahead` may hold anything: reads of a warm file never lock it.
    ahead_used: AtomicBool,
    /// With [`ColdReader::log_reads`]: every block the read-ahead threads
    /// read (offset, size), whether taken later or not.
    read_log: Mutex<Option<Vec<(u64, u64)>>>,
    /// Most bytes kept read ahead ([`MAX_AHEAD_BYTES`]; less in tests).
    cap: usize,
}

/// The blocks asked for ahead.
#[derive(Default)]
struct Ahead {
    /// By offset: read (the bytes), or still queued or being read.
    blocks: HashMap<u64, Slot>,
    /// Bytes of `blocks`, read or not.
    bytes: usize,
    /// (offset, size) still to read, in the order asked (file order within
    /// each call).
    queue: VecDeque<(u64, u64)>,
    /// (offset, call) of the blocks asked for, oldest first, for
    /// [`Ahead::evict_stale`]; entries of blocks taken since are dropped
    /// as they are met.
    asked: VecDeque<(u64, u64)>,
    /// Calls of [`ColdReader::read_ahead`] so far.
    calls: u64,
    /// Set when the reader is dropped: nothing more is read for it.
    shutdown: bool,
}

impl Ahead {
    /// Make room by dropping blocks read ahead [`STALE_CALLS`] calls ago or
    /// more and never taken: a caller that asked for them and read them
    /// some other way, or never read them, would otherwise hold the budget
    /// for the rest of the file, and every later read-ahead would be
    /// dropped. A block still being read is left to its read.
    fn evict_stale(&mut self, needed: usize, cap: usize) {
        while self.bytes + needed > cap {
            let Some(&(offset, call)) = self.asked.front() else {
                return;
            };
            if call + STALE_CALLS > self.calls {
                return;
            }
            self.asked.pop_front();
            if let Some(Slot::Read(buf)) = self.blocks.get(&offset) {
                let len = buf.len();
                self.blocks.remove(&offset);
                self.bytes -= len;
            }
        }
    }

    /// Drop the entries of `asked` whose blocks were taken, when they are
    /// most of it (it would grow with every block of the file).
    fn compact(&mut self) {
        if self.asked.len() > 2 * self.blocks.len() + 4096 {
            let blocks = &self.blocks;
            self.asked.retain(|(offset, _)| blocks.contains_key(offset));
        }
    }
}

enum Slot {
    Pending,
    Read(Vec<u8>),
}

/// Most bytes kept read ahead and not yet read.
const MAX_AHEAD_BYTES: usize = 16 << 20;

/// A block read ahead and not taken after this many more calls of
/// [`ColdReader::read_ahead`] may be dropped to make room: a walk asks for
/// one batch ahead, so its blocks are taken within a few calls.
const STALE_CALLS: u64 = 8;

/// Threads reading ahead, at most: a cold read waits for the device, and
/// this VM's disk answers 42,000 4 KiB reads in 1.4 s from one thread but
/// serves many at once (a cold `cat` reads 1 GB in 0.7-1.6 s). The more
/// requests are in flight, the sooner they are answered: a cold scan of
/// the OST bench stores took 10-15% less time with 32 threads than with
/// 16, and 40-60% more with 4.
const MAX_READERS: usize = 32;

/// Threads started for a call that asks for few blocks (a small file's
/// reads are over before more would help).
const MIN_READERS: usize = 16;

/// Blocks asked for in one call for each thread reading them.
const BLOCKS_PER_READER: usize = 16;

/// The read-ahead threads of the process, shared by every file it reads:
/// `batch` reads thousands of stores, two at a time, and starting threads
/// for each (32 a file) made it 10-20% slower than 16 a file; started as
/// calls ask for blocks, kept for the life of the process.
static POOL: Pool = Pool {
    files: Mutex::new(PoolFiles {
        queued: VecDeque::new(),
        threads: 0,
        ring: RingState::Untried,
    }),
    work: Condvar::new(),
};

/// Requests one io_uring thread keeps in flight: about what 32 threads
/// waiting for a read each kept, with one thread's wake-ups.
const RING_DEPTH: usize = 256;

/// Set (to anything but nothing), the read-ahead uses threads, not
/// io_uring: for a system whose io_uring misbehaves, and for the tests of
/// the threads.
const NO_IO_URING: &str = "OSTSCAN_NO_IO_URING";

/// Whether reads go through io_uring ([`ring_reads`]).
#[derive(Clone, Copy, PartialEq)]
enum RingState {
    Untried,
    Running,
    /// Not available (an old kernel, a sandbox that forbids it), or it
    /// failed: the threads read.
    Off,
}

struct Pool {
    files: Mutex<PoolFiles>,
    /// Signalled when a file has blocks queued.
    work: Condvar,
}

/// (offset, size) of blocks read with one request.
type Run = Vec<(u64, u64)>;

struct PoolFiles {
    /// The files that may have blocks queued, each once, in turn.
    queued: VecDeque<Arc<Shared>>,
    /// Threads started (besides the io_uring thread).
    threads: usize,
    ring: RingState,
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, PoolFiles> {
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start threads for a call asking for `blocks` blocks: one for every
    /// [`BLOCKS_PER_READER`], between [`MIN_READERS`] and [`MAX_READERS`]
    /// in all. False when none could start.
    fn start(&'static self, blocks: usize) -> bool {
        let want = (blocks / BLOCKS_PER_READER).clamp(MIN_READERS, MAX_READERS);
        let mut files = self.lock();
        if files.ring == RingState::Untried {
            files.ring = RingState::Off;
            // Not even set up when refused: the system's io_uring may be
            // what misbehaves.
            let refused = std::env::var_os(NO_IO_URING).is_some_and(|v| !v.is_empty());
            let ring = (!refused)
                .then(|| io_uring::IoUring::new(RING_DEPTH as u32).ok())
                .flatten();
            if let Some(ring) = ring {
                let started = std::thread::Builder::new()
                    .name("ostscan-read-ring".into())
                    .stack_size(256 * 1024)
                    .spawn(move || ring_reads(ring));
                if started.is_ok() {
                    files.ring = RingState::Running;
                }
            }
        }
        if files.ring == RingState::Running {
            return true;
        }
        while files.threads < want {
            match std::thread::Builder::new()
                .name("ostscan-read-ahead".into())
                .stack_size(64 * 1024)
                .spawn(|| POOL.read())
            {
                Ok(_) => files.threads += 1,
                Err(_) => break,
            }
        }
        files.threads > 0
    }

    /// `shared` has blocks queued: wake the threads.
    fn queued(&self, shared: &Arc<Shared>) {
        {
            let mut files = self.lock();
            if !files.queued.iter().any(|f| Arc::ptr_eq(f, shared)) {
                files.queued.push_back(Arc::clone(shared));
            }
        }
        self.work.notify_all();
    }

    /// A read-ahead thread: read the runs of blocks the files queue, the
    /// files in turn, for ever.
    fn read(&self) {
        loop {
            let (shared, run) = {
                let mut files = self.lock();
                loop {
                    if let Some(next) = files.take_run() {
                        break next;
                    }
                    files = self.work.wait(files).unwrap_or_else(|p| p.into_inner());
                }
            };
            shared.read_run(&run);
        }
    }
}

/// A read of the io_uring thread: the run of blocks it reads, into the
/// buffer of its slot.
struct Flight {
    shared: Arc<Shared>,
    run: Run,
    /// The bytes read (the kernel writes them until the read ends).
    buf: AlignedBuf,
    /// File offset of the first byte read (aligned).
    start: u64,
    /// Bytes the run needs from `start`.
    needed: u64,
    align: u64,
    /// Times it was submitted again (an interrupted read, a new alignment).
    tries: u8,
}

/// Where and how much to read for `run` at `align`: the aligned start,
/// the bytes the run needs from it, and the bytes to read; `None` when
/// direct reads are off for the file or the run is too long for a buffer.
fn direct_span(shared: &Shared, run: &[(u64, u64)], align: u64) -> Option<(u64, u64, usize)> {
    if shared.disabled.load(Ordering::Relaxed) {
        return None;
    }
    let &(first, _) = run.first()?;
    let end = run.iter().map(|&(o, l)| o.saturating_add(l)).max()?;
    let (start, want) = aligned_span(first, end - first, align)?;
    Some((start, end - start, want))
}

/// The sectors (of `align` bytes) that hold `len` bytes at `offset`: where
/// they start and how many bytes they are; `None` past what an aligned
/// buffer holds.
fn aligned_span(offset: u64, len: u64, align: u64) -> Option<(u64, usize)> {
    let start = offset & !(align - 1);
    let end = offset
        .checked_add(len)?
        .div_ceil(align)
        .checked_mul(align)?;
    let want = usize::try_from(end - start).ok()?;
    (want <= MAX_DIRECT).then_some((start, want))
}

/// The io_uring thread: keeps up to [`RING_DEPTH`] direct reads of the
/// runs the files queue in flight, hands each its blocks as it ends, for
/// ever. Should the ring fail, the reads in flight are left to whoever
/// asks for their blocks and the threads take over.
fn ring_reads(mut ring: io_uring::IoUring) {
    use io_uring::{opcode, types};
    use std::os::fd::AsRawFd;
    let mut flights: Vec<Option<Flight>> = (0..RING_DEPTH).map(|_| None).collect();
    let mut in_flight = 0usize;
    // Queue the read of `run` in slot `slot`; false when it cannot be.
    let submit = |ring: &mut io_uring::IoUring,
                  flights: &mut Vec<Option<Flight>>,
                  slot: usize,
                  shared: Arc<Shared>,
                  run: Run,
                  tries: u8|
     -> bool {
        let align = shared.align.load(Ordering::Relaxed);
        let Some((start, needed, want)) = direct_span(&shared, &run, align) else {
            shared.store_run(&run, None);
            return true;
        };
        // A buffer of the read's own size: hundreds are in flight, most
        // of a few KiB.
        let Some(mut buf) = AlignedBuf::with_len(want) else {
            shared.store_run(&run, None);
            return true;
        };
        let read = opcode::Read::new(
            types::Fd(shared.direct.as_raw_fd()),
            buf.as_mut_slice().as_mut_ptr(),
            want as u32,
        )
        .offset(start)
        .build()
        .user_data(slot as u64);
        // SAFETY: the buffer (of at least `want` bytes) and the descriptor
        // (owned by `shared`, kept in the flight) live until the read's
        // completion is taken below; the slot is not reused before.
        if unsafe { ring.submission().push(&read) }.is_err() {
            shared.store_run(&run, None);
            return false;
        }
        flights[slot] = Some(Flight {
            shared,
            run,
            buf,
            start,
            needed,
            align,
            tries,
        });
        true
    };
    loop {
        {
            let mut files = POOL.lock();
            while let Some(slot) = flights.iter().position(Option::is_none) {
                match files.take_run() {
                    Some((shared, run)) => {
                        if submit(&mut ring, &mut flights, slot, shared, run, 0)
                            && flights[slot].is_some()
                        {
                            in_flight += 1;
                        }
                    }
                    None if in_flight == 0 => {
                        files = POOL.work.wait(files).unwrap_or_else(|p| p.into_inner());
                    }
                    None => break,
                }
            }
        }
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(_) => {
                // The threads take over; what was in flight is read by
                // whoever asks for it.
                POOL.lock().ring = RingState::Off;
                for f in flights.iter_mut().filter_map(Option::take) {
                    // The kernel may still write into a buffer of a read
                    // it took: those buffers, and the ring, are never
                    // freed (a rare path, a few MiB at most).
                    std::mem::forget(f.buf);
                    f.shared.store_run(&f.run, None);
                }
                std::mem::forget(ring);
                // The threads take over what the files have queued now,
                // not at the next call that asks for blocks (there may be
                // none, and a caller may be waiting for a queued block).
                POOL.start(0);
                POOL.work.notify_all();
                return;
            }
        }
        let ended: Vec<(u64, i32)> = ring
            .completion()
            .map(|c| (c.user_data(), c.result()))
            .collect();
        for (slot, result) in ended {
            let slot = slot as usize;
            let Some(f) = flights.get_mut(slot).and_then(Option::take) else {
                continue;
            };
            in_flight -= 1;
            let retry = match result {
                n if n >= 0 && n as u64 >= f.needed => {
                    let mut buf = f.buf;
                    let data = buf.as_mut_slice().get(..n as usize);
                    f.shared.store_run(&f.run, data.map(|d| (d, f.start)));
                    false
                }
                _ if f.tries >= 3 => {
                    f.shared.store_run(&f.run, None);
                    false
                }
                e if e == -libc::EINTR || e == -libc::EAGAIN => true,
                e if e < 0 && f.shared.retry_after(-e, f.align) => true,
                // Shorter than asked (the file shrank), or failed: the
                // caller's own read says how.
                _ => {
                    f.shared.store_run(&f.run, None);
                    false
                }
            };
            if retry && submit(&mut ring, &mut flights, slot, f.shared, f.run, f.tries + 1) {
                in_flight += usize::from(flights[slot].is_some());
            }
        }
    }
}

impl PoolFiles {
    /// The next run of blocks to read, from the first file that has one;
    /// files with none (or dropped) leave the list until they ask again.
    fn take_run(&mut self) -> Option<(Arc<Shared>, Run)> {
        while let Some(shared) = self.queued.pop_front() {
            let run = {
                let mut ahead = shared.lock();
                let align = shared.align.load(Ordering::Relaxed);
                match ahead.shutdown {
                    true => None,
                    false => next_run(&mut ahead.queue, align),
                }
            };
            if let Some(run) = run {
                self.queued.push_back(Arc::clone(&shared));
                return Some((shared, run));
            }
        }
        None
    }
}

/// Largest direct read: the largest block (64 KiB in 4K files) widened to
/// sectors on both sides.
const MAX_DIRECT: usize = 64 * 1024 + 2 * 4096;

/// Bytes read at most by one request of a read-ahead thread (blocks that
/// touch, read together).
const MAX_RUN: usize = MAX_DIRECT - 2 * 4096;

thread_local! {
    /// The reading thread's aligned buffer for direct reads.
    static DIRECT_BUF: RefCell<Option<AlignedBuf>> = const { RefCell::new(None) };
}

struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    layout: std::alloc::Layout,
}

impl AlignedBuf {
    /// A buffer for the largest direct read.
    fn new() -> Option<AlignedBuf> {
        AlignedBuf::with_len(MAX_DIRECT)
    }

    /// `len` bytes (at least 1), aligned to 4096.
    fn with_len(len: usize) -> Option<AlignedBuf> {
        let layout = std::alloc::Layout::from_size_align(len.max(1), 4096).ok()?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc(layout) };
        std::ptr::NonNull::new(ptr).map(|ptr| AlignedBuf { ptr, layout })
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` owns `layout.size()` bytes; the slice borrows
        // `self`. Bytes the kernel has not written are never read: callers
        // copy only what a read returned.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `with_len` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

impl ColdReader {
    /// Mark `file` and `map` for random access and open `path` a second
    /// time for direct reads. `None` where the file system has no direct
    /// I/O (tmpfs): the page cache then serves every read, as before.
    pub(crate) fn new(path: &Path, file: &File, map: &Mmap) -> Option<ColdReader> {
        // SAFETY: advice on our own descriptor and mapping; failures only
        // leave the kernel's defaults.
        unsafe {
            libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM);
            libc::madvise(
                map.as_ptr() as *mut libc::c_void,
                map.len(),
                libc::MADV_RANDOM,
            );
        }
        let direct = super::os_file::open_read_only_with(path, libc::O_DIRECT).ok()?;
        // The same file, not whatever the path names now.
        let (a, b) = (file.metadata().ok()?, direct.metadata().ok()?);
        use std::os::unix::fs::MetadataExt;
        if (a.dev(), a.ino()) != (b.dev(), b.ino()) {
            return None;
        }
        // SAFETY: sysconf has no preconditions.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            p if p >= 4096 => p as u64,
            _ => 4096,
        };
        let chunks = (map.len() as u64).div_ceil(page * CHUNK_PAGES) as usize;
        let warm = AtomicBool::new(sample_cached(map, page));
        let shared = Shared {
            warm,
            direct,
            page,
            align: AtomicU64::new(512),
            disabled: AtomicBool::new(false),
            resident: (0..chunks).map(|_| AtomicU64::new(0)).collect(),
            known: (0..chunks.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            ahead: Mutex::new(Ahead::default()),
            done: Condvar::new(),
            ahead_used: AtomicBool::new(false),
            read_log: Mutex::new(None),
            cap: MAX_AHEAD_BYTES,
        };
        Some(ColdReader {
            shared: Arc::new(shared),
        })
    }

    /// Ask the kernel for the pages of `ranges` that are not cached, all at
    /// once (`POSIX_FADV_WILLNEED` reads them asynchronously; with the
    /// descriptor marked random, only those pages).
    pub(crate) fn will_need(&self, file: &File, map: &Mmap, ranges: &[(u64, u64)]) {
        let page = self.shared.page;
        let mut pages: Vec<u64> = ranges
            .iter()
            .filter(|&&(offset, len)| !self.shared.cached(map, offset, len))
            .flat_map(|&(offset, len)| offset / page..=(offset + len.max(1) - 1) / page)
            .collect();
        pages.sort_unstable();
        pages.dedup();
        // One request for each run of pages that follow each other (a
        // writer often puts B-tree pages together): one system call, and
        // the device reads the run in large requests.
        let mut i = 0;
        while i < pages.len() {
            let first = pages[i];
            let mut last = first;
            i += 1;
            while i < pages.len() && pages[i] == last + 1 {
                last = pages[i];
                i += 1;
            }
            // SAFETY: advice on our own descriptor.
            unsafe {
                libc::posix_fadvise(
                    file.as_raw_fd(),
                    (first * page) as libc::off_t,
                    ((last - first + 1) * page) as libc::off_t,
                    libc::POSIX_FADV_WILLNEED,
                );
            }
            // On their way into the page cache: counted as cached from now
            // on, so that the next batch's lookups do not ask for them
            // again while they are read (a cold scan of the OST bench store
            // with 30 KB logs made 24,112 of these calls; now 7,561).
            for p in first..=last {
                self.shared.mark_cached(p);
            }
        }
    }

    /// True when some of `ranges` are not cached.
    pub(crate) fn any_uncached(&self, map: &Mmap, ranges: &[(u64, u64)]) -> bool {
        ranges
            .iter()
            .any(|&(offset, len)| !self.shared.cached(map, offset, len))
    }

    /// Queue the blocks at `blocks` (offset, size) that are not cached to
    /// be read, in file order, by the threads of [`POOL`], and kept until
    /// [`ColdReader::take`] asks for them; returns at once. At most
    /// [`MAX_AHEAD_BYTES`] are asked for and not yet taken: past that,
    /// blocks read ahead long ago and never taken are dropped to make
    /// room, and when there are none, the rest are left to be read when
    /// asked for.
    ///
    /// Returning before the reads end lets the caller work on the first
    /// blocks while the device reads the next, and ask for its next batch
    /// while it works on this one. True when some block was not cached.
    pub(crate) fn read_ahead(&self, map: &Mmap, blocks: &[(u64, u64)]) -> bool {
        let shared = &self.shared;
        if shared.disabled.load(Ordering::Relaxed) {
            return false;
        }
        let mut todo: Vec<(u64, u64)> = blocks
            .iter()
            .copied()
            .filter(|&(offset, len)| {
                len as usize <= MAX_DIRECT - 2 * 4096 && !shared.cached(map, offset, len)
            })
            .collect();
        if todo.is_empty() {
            return false;
        }
        todo.sort_unstable();
        todo.dedup_by_key(|b| b.0);
        if !POOL.start(todo.len()) {
            // Without threads the blocks are read when asked for.
            return true;
        }
        {
            let mut ahead = shared.lock();
            ahead.calls += 1;
            let call = ahead.calls;
            ahead.compact();
            for (offset, len) in todo {
                if ahead.blocks.contains_key(&offset) {
                    continue;
                }
                ahead.evict_stale(len as usize, shared.cap);
                if ahead.bytes + len as usize > shared.cap {
                    break;
                }
                ahead.blocks.insert(offset, Slot::Pending);
                ahead.bytes += len as usize;
                ahead.queue.push_back((offset, len));
                ahead.asked.push_back((offset, call));
            }
        }
        shared.ahead_used.store(true, Ordering::Release);
        POOL.queued(shared);
        true
    }

    /// False when a read-ahead would read nothing: the file was found
    /// cached when opened, or direct reads are not possible.
    pub(crate) fn may_read_ahead(&self) -> bool {
        !self.shared.warm.load(Ordering::Relaxed) && !self.shared.disabled.load(Ordering::Relaxed)
    }

    /// Keep the offset and size of every block the read-ahead threads
    /// read from now on (for tests of what a cold walk reads).
    pub(crate) fn log_reads(&self) {
        *self
            .shared
            .read_log
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
    }

    /// The blocks read ahead since [`ColdReader::log_reads`].
    pub(crate) fn logged_reads(&self) -> Vec<(u64, u64)> {
        self.shared
            .read_log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default()
    }

    /// True once something was read ahead.
    pub(crate) fn used(&self) -> bool {
        self.shared.ahead_used.load(Ordering::Relaxed)
    }

    /// The block of `len` bytes at `offset`, when it was asked for ahead:
    /// waits for its read if it has not ended. `None` when it was not
    /// asked for, or its read failed (the caller reads it).
    pub(crate) fn take(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        self.fetch(offset, len, false)
    }

    /// [`ColdReader::take`], but the block stays for its taker: for a
    /// read-ahead that looks into the blocks it asked for to know what to
    /// ask for next.
    pub(crate) fn peek(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        self.fetch(offset, len, true)
    }

    fn fetch(&self, offset: u64, len: usize, keep: bool) -> Option<Vec<u8>> {
        let shared = &self.shared;
        if !shared.ahead_used.load(Ordering::Acquire) {
            return None;
        }
        let mut ahead = shared.lock();
        loop {
            match ahead.blocks.get(&offset)? {
                Slot::Pending => {
                    ahead = shared.done.wait(ahead).unwrap_or_else(|p| p.into_inner());
                }
                Slot::Read(buf) if keep => return (buf.len() == len).then(|| buf.clone()),
                Slot::Read(_) => {
                    let Some(Slot::Read(buf)) = ahead.blocks.remove(&offset) else {
                        return None;
                    };
                    ahead.bytes -= buf.len();
                    return (buf.len() == len).then_some(buf);
                }
            }
        }
    }

    /// Read `buf.len()` bytes at `offset` with a direct read when they are
    /// not cached. `Ok(false)`: cached (or direct reads are not possible),
    /// the caller reads through the page cache.
    pub(crate) fn read_uncached(
        &self,
        map: &Mmap,
        buf: &mut [u8],
        offset: u64,
    ) -> std::io::Result<bool> {
        let len = buf.len() as u64;
        let shared = &self.shared;
        if shared.disabled.load(Ordering::Relaxed)
            || buf.len() > MAX_DIRECT - 2 * 4096
            || shared.cached(map, offset, len)
        {
            return Ok(false);
        }
        shared.read_direct(buf, offset)
    }
}

impl Drop for ColdReader {
    /// Nothing more is read for this file, and what was read ahead is let
    /// go of; a read under way ends, and its bytes are dropped (the
    /// threads hold the shared state, and the descriptor, until then).
    fn drop(&mut self) {
        let mut ahead = self.shared.lock();
        ahead.shutdown = true;
        ahead.queue.clear();
        ahead.blocks.clear();
        ahead.asked.clear();
        ahead.bytes = 0;
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ahead> {
        self.ahead.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Read a run of queued blocks ([`next_run`]: blocks queued one after
    /// the other whose sectors touch, or lie at most [`MAX_GAP`] bytes
    /// apart) with one request, and hand each its bytes.
    fn read_run(&self, run: &[(u64, u64)]) {
        let Some(&(start, _)) = run.first() else {
            return;
        };
        let end = run.iter().map(|&(o, l)| o + l).max().unwrap_or(start);
        // Handed out of the thread's aligned buffer as read. A read that
        // panicked must still end its slots, or whoever waits for a block
        // would wait for ever: they then count as failed, and each block
        // is read by whoever asks for it.
        let stored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.read_direct_with(start, end - start, |bytes| {
                self.store_run(run, Some((bytes, start)))
            })
        }));
        if !matches!(stored, Ok(Ok(Some(())))) {
            self.store_run(run, None);
        }
    }

    /// Hand each block of `run` its bytes, cut out of `data` (the bytes
    /// read from the file offset beside them), or, with `None` (the read
    /// failed), leave the blocks to be read by whoever asks for them; wake
    /// whoever waits.
    fn store_run(&self, run: &[(u64, u64)], data: Option<(&[u8], u64)>) {
        if data.is_some() {
            if let Some(log) = self
                .read_log
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
            {
                log.extend(run.iter().copied());
            }
        }
        // Each block's bytes, cut out before the lock is taken.
        let pieces: Vec<Vec<u8>> = match data {
            None => Vec::new(),
            Some((bytes, at)) => run
                .iter()
                .map_while(|&(offset, len)| {
                    let from = usize::try_from(offset.checked_sub(at)?).ok()?;
                    Some(bytes.get(from..from.checked_add(len as usize)?)?.to_vec())
                })
                .collect(),
        };
        let mut pieces = pieces.into_iter();
        {
            let mut ahead = self.lock();
            for &(offset, len) in run {
                match pieces.next() {
                    Some(piece) => {
                        if let Some(slot) = ahead.blocks.get_mut(&offset) {
                            *slot = Slot::Read(piece);
                        }
                    }
                    None => {
                        if ahead.blocks.remove(&offset).is_some() {
                            // Read by whoever asks for it.
                            ahead.bytes -= len as usize;
                        }
                    }
                }
            }
        }
        self.done.notify_all();
    }

    /// True when every page of `offset..offset + len` was cached when its
    /// chunk was first looked at.
    ///
    /// A range that does not lie inside the map (an offset from a damaged
    /// or crafted B-tree or BBT) counts as cached: it is then read the
    /// ordinary way, whose bounds checks turn it into a located error.
    /// Every direct and read-ahead read passes through here first.
    fn cached(&self, map: &Mmap, offset: u64, len: u64) -> bool {
        if self.warm.load(Ordering::Relaxed) {
            return true;
        }
        match offset.checked_add(len.max(1)) {
            Some(end) if end <= map.len() as u64 => {}
            _ => return true,
        }
        let first = offset / self.page;
        let last = (offset + len.max(1) - 1) / self.page;
        (first..=last).all(|p| {
            let chunk = p / CHUNK_PAGES;
            let mask = self.chunk_mask(map, chunk);
            mask & (1 << (p % CHUNK_PAGES)) != 0
        })
    }

    /// Count page `page` as cached (its chunk's residency was looked at).
    fn mark_cached(&self, page: u64) {
        if let Some(resident) = self.resident.get((page / CHUNK_PAGES) as usize) {
            resident.fetch_or(1 << (page % CHUNK_PAGES), Ordering::Relaxed);
        }
    }

    fn chunk_mask(&self, map: &Mmap, chunk: u64) -> u64 {
        let (word, bit) = ((chunk / 64) as usize, 1u64 << (chunk % 64));
        let Some(known) = self.known.get(word) else {
            return u64::MAX;
        };
        let Some(resident) = self.resident.get(chunk as usize) else {
            return u64::MAX;
        };
        if known.load(Ordering::Acquire) & bit != 0 {
            return resident.load(Ordering::Relaxed);
        }
        let start = chunk * CHUNK_PAGES * self.page;
        if start >= map.len() as u64 {
            return u64::MAX;
        }
        let len = (map.len() as u64 - start).min(CHUNK_PAGES * self.page);
        let pages = len.div_ceil(self.page) as usize;
        let mut vec = [0u8; CHUNK_PAGES as usize];
        // SAFETY: the range lies in the map (page-aligned start: the map
        // starts on a page); `vec` holds one byte per page of it.
        let rc = unsafe {
            libc::mincore(
                map.as_ptr().add(start as usize) as *mut libc::c_void,
                len as usize,
                vec.as_mut_ptr(),
            )
        };
        let mask = if rc != 0 {
            // Unknown: take it as cached, the reading that never gets
            // worse than before.
            u64::MAX
        } else {
            vec[..pages]
                .iter()
                .enumerate()
                .fold(0, |m, (i, &v)| m | (((v & 1) as u64) << i))
        };
        resident.store(mask, Ordering::Relaxed);
        known.fetch_or(bit, Ordering::Release);
        mask
    }

    /// Fill `buf` from `offset` with a direct read. `Ok(false)` when that
    /// is not possible (the caller reads through the page cache).
    fn read_direct(&self, buf: &mut [u8], offset: u64) -> std::io::Result<bool> {
        if buf.len() > MAX_DIRECT - 2 * 4096 {
            return Ok(false);
        }
        let len = buf.len() as u64;
        let read = self.read_direct_with(offset, len, |bytes| buf.copy_from_slice(bytes))?;
        Ok(read.is_some())
    }

    /// Read `len` bytes at `offset` direct, into the thread's aligned
    /// buffer, and hand them to `use_bytes`. `Ok(None)`: direct reads are
    /// off, or the file is shorter now than the read (the caller's own
    /// read says how).
    fn read_direct_with<R>(
        &self,
        offset: u64,
        len: u64,
        use_bytes: impl FnOnce(&[u8]) -> R,
    ) -> std::io::Result<Option<R>> {
        if self.disabled.load(Ordering::Relaxed) {
            return Ok(None);
        }
        DIRECT_BUF.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = AlignedBuf::new();
            }
            let Some(aligned) = slot.as_mut() else {
                return Ok(None);
            };
            loop {
                let align = self.align.load(Ordering::Relaxed);
                let Some((start, want)) = aligned_span(offset, len, align) else {
                    return Ok(None);
                };
                let dst = &mut aligned.as_mut_slice()[..want];
                match read_at_most(&self.direct, dst, start) {
                    Ok(n) if n as u64 >= offset + len - start => {
                        let from = (offset - start) as usize;
                        return Ok(Some(use_bytes(&dst[from..from + len as usize])));
                    }
                    Ok(_) => return Ok(None),
                    Err(e) if self.retry_after(e.raw_os_error().unwrap_or(0), align) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        })
    }

    /// Whether a direct read refused with `errno` at `align` is worth
    /// trying again: a file system that wants 4096-byte sectors gets them
    /// from now on; one that refuses those too has its direct reads
    /// turned off (every read then goes through the page cache).
    fn retry_after(&self, errno: i32, align: u64) -> bool {
        match errno {
            libc::EINVAL if align < 4096 => {
                self.align.store(4096, Ordering::Relaxed);
                true
            }
            libc::EINVAL => {
                self.disabled.store(true, Ordering::Relaxed);
                false
            }
            _ => false,
        }
    }
}

/// Most bytes a read-ahead request reads for nothing between two of its
/// blocks, past the sectors they share: on a device that pays per request
/// more than per byte (this VM's disk), a few sectors between two blocks
/// cost less read with them than as a request of their own. On the OST
/// bench stores, 17% fewer requests, 10-17% less time cold, for 0.5-0.6%
/// more of the file read (docs/performance.md, session 7).
const MAX_GAP: u64 = 1536;

/// The next request of a read-ahead thread, taken from the front of
/// `queue`: its first block, and the blocks queued after it whose sectors
/// (of `align` bytes) lie within [`MAX_GAP`] bytes of the run so far and
/// not before its first block (a later call's may), up to [`MAX_RUN`]
/// bytes. `None` when the queue is empty.
fn next_run(queue: &mut VecDeque<(u64, u64)>, align: u64) -> Option<Vec<(u64, u64)>> {
    let first = queue.pop_front()?;
    let mut run = vec![first];
    let first_sector = first.0 & !(align - 1);
    let mut end = first.0 + first.1;
    while let Some(&(offset, len)) = queue.front() {
        let touches = offset & !(align - 1) <= end.div_ceil(align) * align + MAX_GAP;
        let new_end = end.max(offset + len);
        if !touches || offset < first.0 || new_end - first_sector > MAX_RUN as u64 {
            break;
        }
        queue.pop_front();
        run.push((offset, len));
        end = new_end;
    }
    Some(run)
}

/// Pages of the file sampled when it is opened.
const SAMPLE_PAGES: u64 = 64;

/// True when [`SAMPLE_PAGES`] pages spread evenly over the map are all
/// cached (one `mincore` of one page each: microseconds).
fn sample_cached(map: &Mmap, page: u64) -> bool {
    let pages = (map.len() as u64).div_ceil(page);
    let step = (pages / SAMPLE_PAGES).max(1);
    (0..pages).step_by(step as usize).all(|p| {
        let mut v = [0u8; 1];
        // SAFETY: one page inside the map (its start is page-aligned).
        let rc = unsafe {
            libc::mincore(
                map.as_ptr().add((p * page) as usize) as *mut libc::c_void,
                1,
                v.as_mut_ptr(),
            )
        };
        rc != 0 || v[0] & 1 != 0
    })
}

/// One read into `buf` at `offset` (a direct read is not continued: the
/// rest would start off the sector grid; a short one falls back).
fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offsets a damaged or crafted B-tree or BBT can hand the reader, past
    /// the end of the file (within the last chunk's word of residency bits,
    /// and far beyond), are "cached": left to the ordinary reads, which
    /// report them. They never reach `mincore` or a direct read.
    #[test]
    fn ranges_outside_the_file_are_left_to_the_ordinary_reads() {
        let dir = std::env::temp_dir().join(format!("ost-ndb-cold-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("three-pages-and-a-bit");
        std::fs::write(&path, vec![0x5Au8; 3 * 4096 + 100]).unwrap();
        let file = File::open(&path).unwrap();
        // SAFETY: a file of this test's own, not changed while mapped.
        let map = unsafe { Mmap::map(&file) }.unwrap();
        let Some(cold) = ColdReader::new(&path, &file, &map) else {
            // Straight to the process's stderr: libtest captures eprintln!.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipping: no direct I/O on {}",
                dir.display()
            );
            return;
        };
        // As on a cold file: every range is checked.
        cold.shared.warm.store(false, Ordering::Relaxed);
        let len = map.len() as u64;
        for (offset, size) in [
            (len, 1),
            (len - 1, 2),
            (len + 10, 512),
            (len + (8 << 20), 4096),
            (1 << 40, 4096),
            (u64::MAX - 1, 4096),
            (u64::MAX, 0),
        ] {
            assert!(cold.shared.cached(&map, offset, size), "{offset:#x}+{size}");
            let mut buf = vec![0u8; size as usize];
            assert!(!cold.read_uncached(&map, &mut buf, offset).unwrap());
        }
        assert!(!cold.any_uncached(&map, &[(len + 4096, 4096), (u64::MAX, 1)]));
        cold.read_ahead(&map, &[(len + 4096, 4096), (u64::MAX - 10, 4096)]);
        assert!(cold.take(len + 4096, 4096).is_none());
        // A range inside still works: read directly or left to the cache.
        let mut buf = vec![0u8; 512];
        if cold.read_uncached(&map, &mut buf, 4096).unwrap() {
            assert!(buf.iter().all(|&b| b == 0x5A));
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A 1 MiB file of patterned bytes out of the page cache, mapped, and
    /// its cold reader; `None` (said on stderr) where the test cannot run.
    struct ColdFile {
        dir: std::path::PathBuf,
        bytes: Vec<u8>,
        map: Mmap,
        cold: ColdReader,
    }

    impl ColdFile {
        fn new(name: &str) -> Option<ColdFile> {
            let dir = std::env::temp_dir().join(format!("ost-ndb-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("patterned");
            let bytes: Vec<u8> = (0..(1u32 << 20))
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            std::fs::write(&path, &bytes).unwrap();
            let file = File::open(&path).unwrap();
            file.sync_all().unwrap();
            // Out of the page cache, so that the blocks count as not cached.
            // SAFETY: advice on our own descriptor.
            unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
            // SAFETY: a file of this test's own, not changed while mapped.
            let map = unsafe { Mmap::map(&file) }.unwrap();
            let skip = |why: &str| {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "skipping: {why} on {}", dir.display());
                std::fs::remove_dir_all(&dir).ok();
                None
            };
            let Some(cold) = ColdReader::new(&path, &file, &map) else {
                return skip("no direct I/O");
            };
            cold.shared.warm.store(false, Ordering::Relaxed);
            if cold.shared.cached(&map, 4096, 4096) {
                return skip("the file stays in the page cache");
            }
            Some(ColdFile {
                dir,
                bytes,
                map,
                cold,
            })
        }

        /// Ask for `blocks` ahead, then take each (in reverse: the last
        /// were asked last, so some are waited for) and check its bytes.
        fn read_ahead_and_take(&self, blocks: &[(u64, u64)]) {
            self.cold.read_ahead(&self.map, blocks);
            assert!(self.cold.used());
            for &(offset, len) in blocks.iter().rev() {
                let got = self
                    .cold
                    .take(offset, len as usize)
                    .expect("asked for ahead");
                assert_eq!(got, &self.bytes[offset as usize..(offset + len) as usize]);
                // Taken once: the next read of it is an ordinary one.
                assert!(self.cold.take(offset, len as usize).is_none());
            }
            assert_eq!(self.cold.shared.lock().bytes, 0);
        }
    }

    impl Drop for ColdFile {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.dir).ok();
        }
    }

    /// Blocks asked for ahead come back with the file's bytes, whether
    /// their read has ended when they are taken or is waited for; a block
    /// not asked for is not there.
    #[test]
    fn blocks_read_ahead_are_the_files_bytes() {
        let Some(f) = ColdFile::new("ahead") else {
            return;
        };
        // Odd offsets and sizes, as blocks have: 100 of them, 8 KiB apart.
        let blocks: Vec<(u64, u64)> = (0..100u64)
            .map(|i| (i * 8192 + 17 * (i % 7), 64 + 37 * (i % 50)))
            .collect();
        f.read_ahead_and_take(&blocks);
        assert!(f.cold.take(900_000, 100).is_none());
    }

    /// The read-ahead threads (or the io_uring one) serve every file of the
    /// process: a reader
    /// dropped with blocks still queued lets go of them (nothing more is
    /// read for it), the next file's blocks come back whole, and however
    /// many files are read, no more than [`MAX_READERS`] threads start.
    #[test]
    fn the_threads_pass_from_a_dropped_file_to_the_next() {
        let blocks: Vec<(u64, u64)> = (0..200u64).map(|i| (i * 5000 + 3, 3000)).collect();
        for round in 0..4 {
            let Some(first) = ColdFile::new(&format!("pool-a{round}")) else {
                return;
            };
            first.cold.read_ahead(&first.map, &blocks);
            let shared = Arc::clone(&first.cold.shared);
            drop(first);
            {
                let ahead = shared.lock();
                assert!(ahead.shutdown);
                assert!(ahead.queue.is_empty() && ahead.blocks.is_empty());
                assert_eq!(ahead.bytes, 0);
            }
            let Some(second) = ColdFile::new(&format!("pool-b{round}")) else {
                return;
            };
            second.read_ahead_and_take(&blocks[..60]);
        }
        // The io_uring thread, or the threads within their bounds.
        let files = POOL.lock();
        let threads = files.threads;
        assert!(
            files.ring == RingState::Running || (MIN_READERS..=MAX_READERS).contains(&threads),
            "{threads} threads"
        );
    }

    /// Pages asked of the kernel ahead count as cached from then on: the
    /// next batch's lookups do not ask for them again while they are read.
    #[test]
    fn pages_asked_for_are_not_asked_for_again() {
        let Some(f) = ColdFile::new("willneed") else {
            return;
        };
        let file = File::open(f.dir.join("patterned")).unwrap();
        let ranges = [(8192, 4096), (65_536 + 17, 100)];
        let cached = |(offset, len): (u64, u64)| f.cold.shared.cached(&f.map, offset, len);
        assert!(!ranges.iter().any(|&r| cached(r)));
        f.cold.will_need(&file, &f.map, &ranges);
        assert!(ranges.iter().all(|&r| cached(r)));
        // A page of the same chunk that was not asked for is not.
        assert!(!cached((200_000, 10)));
    }

    /// Blocks read ahead and never taken do not hold the budget for ever:
    /// [`STALE_CALLS`] calls later, a read-ahead that needs the room drops
    /// them; before that, what does not fit is not read ahead.
    #[test]
    fn blocks_never_taken_make_room_once_stale() {
        let Some(mut f) = ColdFile::new("stale") else {
            return;
        };
        Arc::get_mut(&mut f.cold.shared).expect("no reader yet").cap = 64 * 1024;
        // 48 KiB asked for, read, and never taken.
        let never: Vec<(u64, u64)> = (0..12u64).map(|i| (i * 8192, 4096)).collect();
        f.cold.read_ahead(&f.map, &never);
        for &(offset, len) in &never {
            assert!(f.cold.peek(offset, len as usize).is_some());
        }
        let big = (600_000u64, 32 * 1024u64);
        let whole = |(offset, len): (u64, u64)| &f.bytes[offset as usize..(offset + len) as usize];
        f.cold.read_ahead(&f.map, &[big]);
        assert!(f.cold.take(big.0, big.1 as usize).is_none(), "no room yet");
        // Calls whose blocks are taken.
        for i in 0..STALE_CALLS {
            let block = (800_000 + i * 4096, 512);
            f.cold.read_ahead(&f.map, &[block]);
            assert_eq!(f.cold.take(block.0, 512).as_deref(), Some(whole(block)));
        }
        f.cold.read_ahead(&f.map, &[big]);
        assert_eq!(
            f.cold.take(big.0, big.1 as usize).as_deref(),
            Some(whole(big))
        );
        // The oldest made room (as few as needed): the first is gone, the
        // last still there.
        assert!(f.cold.take(0, 4096).is_none());
        let last = never[never.len() - 1];
        assert_eq!(f.cold.take(last.0, 4096).as_deref(), Some(whole(last)));
    }

    /// A request is the first queued block and those after it that touch
    /// it, never one that lies before it (a later call's, in its sector).
    #[test]
    fn a_run_never_starts_after_one_of_its_blocks() {
        let mut queue: VecDeque<(u64, u64)> = [(600_200, 100), (600_100, 50), (600_300, 50)].into();
        assert_eq!(next_run(&mut queue, 512), Some(vec![(600_200, 100)]));
        assert_eq!(
            next_run(&mut queue, 512),
            Some(vec![(600_100, 50), (600_300, 50)])
        );
        assert_eq!(next_run(&mut queue, 512), None);
        // Touching sectors join, and so do sectors at most MAX_GAP bytes
        // apart; a wider gap does not, and a run stops at MAX_RUN bytes.
        let gap = MAX_GAP + 512;
        let mut queue: VecDeque<(u64, u64)> = [
            (0, 1000),
            (1024, 10),
            (1536 + MAX_GAP, 10),
            (2048 + MAX_GAP + gap, 10),
        ]
        .into();
        assert_eq!(next_run(&mut queue, 512).map(|r| r.len()), Some(3));
        assert_eq!(next_run(&mut queue, 512).map(|r| r.len()), Some(1));
        let mut queue: VecDeque<(u64, u64)> = (0..40u64).map(|i| (i * 4096, 4096)).collect();
        let run = next_run(&mut queue, 512).unwrap();
        assert_eq!(run.len() as u64 * 4096, MAX_RUN as u64);
    }

    /// Blocks that touch, share a sector, or lie one after the other for
    /// longer than one request reads are read together (in runs of at most
    /// [`MAX_RUN`] bytes), and each still comes back whole and alone.
    #[test]
    fn touching_blocks_are_read_together_and_come_back_each_whole() {
        let Some(f) = ColdFile::new("runs") else {
            return;
        };
        let mut blocks = Vec::new();
        // 300 blocks end to end (about 150 KiB: more than two runs), of odd
        // sizes, so that neighbours share sectors.
        let mut at = 4096 + 3;
        for i in 0..300u64 {
            let len = 64 + 61 * (i % 17);
            blocks.push((at, len));
            at += len;
        }
        // Two blocks inside one sector, a block just past a sector edge,
        // one a gap of about 1 KiB after it (read with them), and one far
        // away.
        blocks.extend([
            (600_000, 100),
            (600_200, 100),
            (600_512, 700),
            (602_300, 50),
            (900_001, 999),
        ]);
        f.read_ahead_and_take(&blocks);
    }
}
