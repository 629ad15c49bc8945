//! A problem met while reading a file, located in it: the one shape every
//! report above the NDB and LTP layers gives its read errors (the scan's,
//! the diff's, the reconciliation's, the Sync Issues analysis').
//!
//! The structure and file offset are fields of their own, so that the
//! message ([`ProblemKind`]'s text) says only what is wrong, and an analyst
//! can go to the bytes. The kind stays typed: the NDB and LTP error kinds
//! as those layers gave them.

use std::borrow::Cow;
use std::fmt;

use ost_ndb::ltp::{LtpError, LtpErrorKind};
use ost_ndb::{NdbError, NdbErrorKind, NdbId, Nid, Pst};

use crate::rtf_compressed::{RtfError, RtfIssue};

/// A problem met while reading; the reading went on without the part it
/// is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The structure that failed: "HNHDR", "NBT page", "hierarchy table", ...
    pub structure: Cow<'static, str>,
    /// File offset of that structure when known (0 otherwise; an LTP error
    /// whose data block could not be found keeps its offset inside the
    /// heap structure).
    pub offset: u64,
    /// The node being read: the item, folder or table, not an inner subnode.
    pub nid: Option<Nid>,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong. Its text is the report's `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The NDB layer's error, with the NID or BID involved (said after the
    /// kind, unless the kind names it already).
    Ndb {
        kind: NdbErrorKind,
        id: Option<NdbId>,
    },
    /// An LTP structure's error (never [`LtpErrorKind::Ndb`]: those are
    /// [`ProblemKind::Ndb`]), with where in its node's data block it is when
    /// that block was found (then [`Problem::offset`] is the block's).
    /// Boxed: the LTP kind holds an NDB error, and a problem is returned
    /// on paths that read every item.
    Ltp {
        kind: Box<LtpErrorKind>,
        within: Option<WithinBlock>,
    },
    /// The hierarchy lists a folder a second time (a cycle or a shared
    /// subtree); the second listing is skipped.
    FolderListedTwice,
    /// A compressed RTF value that could not be read at all.
    CompressedRtf(RtfError),
    /// A compressed RTF value read despite damage.
    CompressedRtfIssue(RtfIssue),
    /// What was being done when `cause` happened ("reading the body (DIFF003
    /// not checked)").
    Context {
        context: &'static str,
        cause: Box<ProblemKind>,
    },
    /// Said in words: a problem outside the file's structures (a directory
    /// that cannot be listed), or advice in place of the reader's words.
    Text(String),
}

/// Where inside a node's data block an LTP structure failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithinBlock {
    /// Offset of the failing structure inside the heap block.
    pub offset: u64,
    /// Index of the block among the node's data blocks.
    pub block: u32,
}

impl Problem {
    /// A problem of `structure` at file offset `offset`, about no node.
    pub fn new(structure: impl Into<Cow<'static, str>>, offset: u64, kind: ProblemKind) -> Problem {
        Problem {
            structure: structure.into(),
            offset,
            nid: None,
            kind,
        }
    }

    /// The same problem, about node `nid`.
    pub fn with_nid(mut self, nid: Nid) -> Problem {
        self.nid = Some(nid);
        self
    }

    /// The same problem, met while `context` ("reading the body"): the
    /// message says so first.
    pub fn context(mut self, context: &'static str) -> Problem {
        self.kind = ProblemKind::Context {
            context,
            cause: Box::new(self.kind),
        };
        self
    }

    /// An NDB error: its structure and file offset, and its kind with the
    /// id it names.
    pub fn ndb(e: &NdbError) -> Problem {
        Problem::new(
            e.structure,
            e.offset,
            ProblemKind::Ndb {
                kind: e.kind.clone(),
                id: e.id,
            },
        )
    }

    /// An NDB error said by its kind alone, without the id it names: how
    /// the scan and the reconciliation report a file that cannot be opened
    /// and the integrity problems the reader read past.
    pub fn ndb_kind_only(e: &NdbError) -> Problem {
        Problem::new(
            e.structure,
            e.offset,
            ProblemKind::Ndb {
                kind: e.kind.clone(),
                id: None,
            },
        )
    }

    /// An integrity problem the reader met and read past (a CRC, a
    /// signature, a file shorter than its header says), in a report that
    /// has no field of its own for where a problem came from: said by its
    /// kind alone, its structure marked "(integrity)".
    pub fn integrity(e: &NdbError) -> Problem {
        let mut problem = Problem::ndb_kind_only(e);
        problem.structure = format!("{} (integrity)", e.structure).into();
        problem
    }

    /// A problem with no place of its own inside node `nid` (a value that
    /// was read but decodes wrong, such as damaged compressed RTF), located
    /// at the node's first data block: the closest place the file has.
    pub fn at_node(
        pst: &Pst<'_>,
        nid: Nid,
        structure: impl Into<Cow<'static, str>>,
        kind: ProblemKind,
    ) -> Problem {
        let offset = pst.data_block_offset(nid, 0).unwrap_or(0);
        Problem::new(structure, offset, kind).with_nid(nid)
    }

    /// An LTP error met while reading node `nid`, located in the file. NDB
    /// failures carry a file offset already; LTP failures (heap, BTH, PC,
    /// TC) are placed at the node's data block that holds them
    /// ([`LtpError::data_block`]), their position inside it moving into
    /// the kind. The problem names `nid`, the node being read (what an
    /// analyst looks up), not an inner subnode.
    pub fn ltp(pst: &Pst<'_>, e: &LtpError, nid: Nid) -> Problem {
        let problem = match &e.kind {
            LtpErrorKind::Ndb(n) => Problem::ndb(n),
            kind => {
                let place = e.data_block(pst, nid);
                Problem::new(
                    e.structure,
                    place.map_or(e.offset, |p| p.offset),
                    ProblemKind::Ltp {
                        kind: Box::new(kind.clone()),
                        within: place.map(|p| WithinBlock {
                            offset: e.offset,
                            block: p.block,
                        }),
                    },
                )
            }
        };
        problem.with_nid(nid)
    }
}

/// `{structure} at offset {offset} (nid {nid}): {message}`, as the text
/// forms print a problem. The node is said once: not beside a message that
/// names it ("NID 0x200044 not found"), and an NDB error's id that is the
/// node's NID is not said again.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {:#x}", self.structure, self.offset)?;
        let Some(nid) = self.nid else {
            return write!(f, ": {}", self.kind);
        };
        let node = NdbId::Nid(nid);
        // "NID 0x200044 not found" names the node already.
        if !matches!(&self.kind, ProblemKind::Ndb { kind, .. } if kind.names(node)) {
            write!(f, " (nid {nid:#x})")?;
        }
        f.write_str(": ")?;
        self.kind.write(f, Some(node))
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, None)
    }
}

impl ProblemKind {
    /// The message, without an NDB error's id where it is `said`: an id
    /// the line names already (the problem's node), or that the error's
    /// own text names ("NID 0x21 not found").
    fn write(&self, f: &mut fmt::Formatter<'_>, said: Option<NdbId>) -> fmt::Result {
        match self {
            ProblemKind::Ndb { kind, id } => {
                write!(f, "{kind}")?;
                match id {
                    Some(id) if !kind.names(*id) && Some(*id) != said => write!(f, " ({id})"),
                    _ => Ok(()),
                }
            }
            ProblemKind::Ltp { kind, within } => {
                write!(f, "{kind}")?;
                match within {
                    Some(w) => write!(f, " (at +{:#x} in data block {})", w.offset, w.block),
                    None => Ok(()),
                }
            }
            ProblemKind::FolderListedTwice => {
                write!(f, "folder listed twice (cycle or shared subtree); skipped")
            }
            ProblemKind::CompressedRtf(e) => write!(f, "PR_RTF_COMPRESSED: {e}"),
            ProblemKind::CompressedRtfIssue(e) => write!(f, "PR_RTF_COMPRESSED: {e}"),
            ProblemKind::Context { context, cause } => {
                write!(f, "{context}: ")?;
                cause.write(f, said)
            }
            ProblemKind::Text(text) => f.write_str(text),
        }
    }
}

/// JSON (with the `serde` feature): one flat object, `structure`,
/// `offset`, `nid` and `message` (the kind's text), so that a report can
/// put its own fields beside them (`#[serde(flatten)]`).
#[cfg(feature = "serde")]
mod serialize {
    use serde::ser::{SerializeStruct, Serializer};
    use serde::Serialize;

    use super::Problem;

    impl Serialize for Problem {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.fields(s, false)
        }
    }

    impl Problem {
        /// The same object with `nid_hex` after `nid`: the NID as the text
        /// forms show it (`0x200044`, null when `nid` is), as the scan and
        /// the diff report it. For `#[serde(serialize_with)]`.
        pub fn serialize_with_nid_hex<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.fields(s, true)
        }

        fn fields<S: Serializer>(&self, s: S, nid_hex: bool) -> Result<S::Ok, S::Error> {
            let mut o = s.serialize_struct("Problem", 4 + usize::from(nid_hex))?;
            o.serialize_field("structure", &self.structure)?;
            o.serialize_field("offset", &self.offset)?;
            o.serialize_field("nid", &self.nid)?;
            if nid_hex {
                o.serialize_field("nid_hex", &self.nid.map(|n| format!("{n:#x}")))?;
            }
            o.serialize_field("message", &format_args!("{}", self.kind))?;
            o.end()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_named_once_when_the_error_is_about_it() {
        let short = NdbError::new(
            "NBT page",
            0x3b000,
            NdbErrorKind::OutOfBounds {
                needed: 0x3c000,
                available: 0x2a000,
            },
        );
        let of_node = Problem::ndb(&short.clone().with_nid(Nid(0x801))).with_nid(Nid(0x801));
        assert_eq!(
            of_node.to_string(),
            "NBT page at offset 0x3b000 (nid 0x801): needs bytes up to 0x3c000 but only 0x2a000 \
             are there"
        );
        // The message keeps its id: JSON has the nid beside it.
        assert_eq!(
            of_node.kind.to_string(),
            "needs bytes up to 0x3c000 but only 0x2a000 are there (NID 0x801)"
        );
        // A block is another thing, even of the same number.
        for (bid, nid) in [(0x6184, 0x2001a4), (0x2001a4, 0x2001a4)] {
            let of_block = Problem::ndb(&short.clone().with_bid(bid)).with_nid(Nid(nid));
            assert_eq!(
                of_block.to_string(),
                format!(
                    "NBT page at offset 0x3b000 (nid {nid:#x}): needs bytes up to 0x3c000 but \
                     only 0x2a000 are there (BID {bid:#x})"
                )
            );
        }
        // Also inside a context.
        let in_context = Problem::ndb(&short.clone().with_nid(Nid(0x801)))
            .with_nid(Nid(0x801))
            .context("reading the body");
        assert_eq!(
            in_context.to_string(),
            "NBT page at offset 0x3b000 (nid 0x801): reading the body: needs bytes up to 0x3c000 \
             but only 0x2a000 are there"
        );
        // A message naming the node says it.
        let missing = NdbError::new(
            "NBT page",
            0x16c00,
            NdbErrorKind::NotFound {
                key: NdbId::Nid(Nid(0x2000c4)),
            },
        );
        let missing = Problem::ndb(&missing.with_nid(Nid(0x2000c4))).with_nid(Nid(0x2000c4));
        assert_eq!(
            missing.to_string(),
            "NBT page at offset 0x16c00: NID 0x2000c4 not found"
        );
    }

    #[test]
    fn messages_are_the_kinds_without_structure_or_offset() {
        let bbt = NdbError::new(
            "BBT page",
            0x4400,
            NdbErrorKind::NotFound {
                key: NdbId::Bid(ost_ndb::Bid(0x21)),
            },
        );
        // The id is said unless the kind names it.
        assert_eq!(
            Problem::ndb(&bbt.clone().with_bid(0x80)).kind.to_string(),
            "BID 0x21 not found (BID 0x80)"
        );
        assert_eq!(
            Problem::ndb(&bbt.clone().with_bid(0x21)).kind.to_string(),
            "BID 0x21 not found"
        );
        assert_eq!(
            Problem::ndb_kind_only(&bbt.clone().with_bid(0x80))
                .kind
                .to_string(),
            "BID 0x21 not found"
        );
        let within = ProblemKind::Ltp {
            kind: Box::new(LtpErrorKind::BadHid(0x20)),
            within: Some(WithinBlock {
                offset: 0x1,
                block: 2,
            }),
        };
        assert_eq!(
            within.to_string(),
            "HID 0x00000020 names no heap item (at +0x1 in data block 2)"
        );
        let body = ProblemKind::Context {
            context: "reading the body",
            cause: Box::new(ProblemKind::CompressedRtf(RtfError::TooShort { len: 3 })),
        };
        assert_eq!(
            body.to_string(),
            "reading the body: PR_RTF_COMPRESSED: 3 bytes, shorter than the 16-byte header"
        );
    }

    #[test]
    fn an_ltp_error_is_placed_at_its_data_block() {
        let mut f = ost_fixture::FixtureBuilder::new(ost_fixture::Format::Unicode)
            .messages(3)
            .seed(8)
            .build()
            .expect("fixture");
        let nid = f.manifest[0].nid;
        let node = *f.layout.node(nid).expect("node");
        let ib = f.layout.block(node.bid_data).expect("block").ib;
        // The heap's signature byte (bSig at offset 2 of the HNHDR): the
        // block still reads, the heap does not.
        f.bytes[ib as usize + 2] = 0;
        let pst = Pst::from_vec(f.bytes).expect("open");
        let Err(e) = ost_ndb::ltp::PropertyContext::open(pst.node(Nid(nid)).expect("node")) else {
            panic!("a damaged heap opened");
        };
        assert_eq!(e.structure, "HNHDR");
        let place = e.data_block(&pst, Nid(nid)).expect("placed");
        assert_eq!((place.block, place.offset), (0, ib));
        let p = Problem::ltp(&pst, &e, Nid(nid));
        assert_eq!(
            (&*p.structure, p.offset, p.nid),
            ("HNHDR", ib, Some(Nid(nid)))
        );
        let ProblemKind::Ltp { within, .. } = &p.kind else {
            panic!("not an LTP problem: {p:?}");
        };
        assert_eq!(
            *within,
            Some(WithinBlock {
                offset: e.offset,
                block: 0
            })
        );
        assert!(p.kind.to_string().ends_with(" in data block 0)"), "{p}");
        // A node that is not there: the in-heap offset is all there is.
        let stray = LtpError::new("HNHDR", 2, LtpErrorKind::BadHid(0x20));
        let lost = Problem::ltp(&pst, &stray, Nid(0x7fff_ffe4));
        assert_eq!((lost.offset, lost.nid), (2, Some(Nid(0x7fff_ffe4))));
        assert!(matches!(lost.kind, ProblemKind::Ltp { within: None, .. }));
        // An NDB failure keeps its own file offset.
        let missing = pst.node(Nid(0x7fff_ffe4)).map(|_| ()).expect_err("absent");
        let p = Problem::ltp(&pst, &LtpError::from(missing.clone()), Nid(nid));
        assert_eq!((p.offset, p.nid), (missing.offset, Some(Nid(nid))));
        assert_eq!(p.kind.to_string(), Problem::ndb(&missing).kind.to_string());
    }

    #[test]
    fn the_text_form_names_structure_offset_and_node() {
        let p = Problem::new("hierarchy table", 0x1200, ProblemKind::FolderListedTwice);
        assert_eq!(
            p.to_string(),
            "hierarchy table at offset 0x1200: folder listed twice (cycle or shared subtree); skipped"
        );
        assert_eq!(
            p.with_nid(Nid(0x8022)).to_string(),
            "hierarchy table at offset 0x1200 (nid 0x8022): folder listed twice (cycle or \
             shared subtree); skipped"
        );
    }
}
