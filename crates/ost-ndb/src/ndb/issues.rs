//! The integrity problems met while reading a file (CRC, signature, back
//! pointer, sizes that disagree), and whether they stop the read.
//!
//! Its own file because every layer that checks something records here:
//! the header, B-tree pages, blocks, node trees. It depends on nothing but
//! the error type, so each of those can use it without reaching up to
//! [`Pst`](super::file::Pst).

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Mutex;

use super::error::{NdbError, NdbErrorKind, Result};

thread_local! {
    /// Set inside [`IssueLog::quietly`].
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Run `f` with this thread's `flag` set, and put it back as it was after
/// (also when `f` panics).
pub(crate) fn with_flag_set<T>(
    flag: &'static std::thread::LocalKey<Cell<bool>>,
    f: impl FnOnce() -> T,
) -> T {
    struct Restore(&'static std::thread::LocalKey<Cell<bool>>, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            self.0.with(|q| q.set(self.1));
        }
    }
    let _restore = Restore(flag, flag.with(|q| q.replace(true)));
    f()
}

/// How integrity failures (CRC, signature, back pointer) are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// Any integrity failure is an error.
    Strict,
    /// Integrity failures are recorded (see [`Pst::issues`]) and reading goes
    /// on with the bytes as they are. The default, for analysis of damaged
    /// evidence.
    ///
    /// [`Pst::issues`]: super::file::Pst::issues
    #[default]
    Lenient,
}

/// At most this many integrity problems are kept; a file with more is
/// hopeless and the count says so.
const MAX_ISSUES: usize = 10_000;

#[derive(Default)]
struct Issues {
    list: Vec<NdbError>,
    seen: HashSet<(&'static str, u64, std::mem::Discriminant<NdbErrorKind>)>,
    dropped: u64,
}

/// The problems recorded for one opened file.
pub(crate) struct IssueLog {
    validation: Validation,
    issues: Mutex<Issues>,
}

impl IssueLog {
    pub(crate) fn new(validation: Validation) -> IssueLog {
        IssueLog {
            validation,
            issues: Mutex::new(Issues::default()),
        }
    }

    /// Handle an integrity failure: an error in strict mode, a recorded issue
    /// in lenient mode.
    pub(crate) fn integrity(&self, e: NdbError) -> Result<()> {
        match self.validation {
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
        with_flag_set(&QUIET, f)
    }

    /// Remember a problem (once per structure, offset and kind of problem),
    /// unless in [`IssueLog::quietly`].
    pub(crate) fn record(&self, e: NdbError) {
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
    pub(crate) fn issues(&self) -> (Vec<NdbError>, u64) {
        let issues = match self.issues.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut list = issues.list.clone();
        list.sort_by_key(|e| (e.offset, e.structure));
        (list, issues.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndb::error::NdbId;
    use crate::ndb::ids::Nid;

    /// Issues met inside `quietly` are not recorded; outside, and after a
    /// panic inside, they are again.
    #[test]
    fn quiet_lookups_record_nothing_and_end_with_their_scope() {
        let log = IssueLog::new(Validation::Lenient);
        let issue = |offset| {
            NdbError::new(
                "test page",
                offset,
                NdbErrorKind::NotFound {
                    key: NdbId::Nid(Nid(1)),
                },
            )
        };
        log.record(issue(0));
        let before = log.issues().0.len();
        assert_eq!(before, 1);
        log.quietly(|| log.record(issue(1)));
        assert_eq!(log.issues().0.len(), before);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            log.quietly(|| panic!("inside"));
        }));
        assert!(panicked.is_err());
        log.record(issue(2));
        assert_eq!(log.issues().0.len(), before + 1);
    }

    /// Strict reading stops at an integrity failure and records nothing;
    /// lenient reading records it once and goes on.
    #[test]
    fn strict_fails_lenient_records_once() {
        let issue = || {
            NdbError::new(
                "test page",
                7,
                NdbErrorKind::NotFound {
                    key: NdbId::Nid(Nid(1)),
                },
            )
        };
        let strict = IssueLog::new(Validation::Strict);
        assert!(strict.integrity(issue()).is_err());
        assert!(strict.issues().0.is_empty());
        let lenient = IssueLog::new(Validation::Lenient);
        assert!(lenient.integrity(issue()).is_ok());
        assert!(lenient.integrity(issue()).is_ok());
        assert_eq!(lenient.issues().0.len(), 1);
    }
}
