//! The start of a message's text, for readers of short messages that
//! machines write (Outlook's synchronization logs): PR_BODY (0x1000) as
//! plain text, else PR_RTF_COMPRESSED (0x1009) decompressed to RTF, the
//! only form Outlook writes its own logs in. Only a prefix of either value
//! is read: a large value lives in a subnode's data tree, and only the
//! blocks that hold the bytes asked for are read and decoded
//! (`PropertyContext::value_prefix`), so a long or hostile body costs no
//! more than the caller's [`TextLimits`].

use ost_ndb::ltp::{prop_type, LtpError, PropValue, PropertyContext};

use crate::rtf_compressed::{self, RtfError, RtfIssue};
use crate::strings::{prop_string, DEFAULT_CODEPAGE};
use crate::tags::{
    PR_BODY, PR_INTERNET_CPID, PR_MESSAGE_CODEPAGE, PR_MESSAGE_DELIVERY_TIME, PR_RTF_COMPRESSED,
};
use crate::time::FileTime;

/// How much of a message's text is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextLimits {
    /// Bytes of PR_BODY read.
    pub body_bytes: usize,
    /// Bytes of PR_RTF_COMPRESSED read; past them the value is cut (its
    /// CRC then unchecked).
    pub rtf_value_bytes: usize,
    /// Bytes of RTF decompressed from it, whatever its RAWSIZE says.
    pub rtf_bytes: usize,
}

/// The start of a message's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyText {
    /// PR_BODY, decoded in the message's code page (PR_MESSAGE_CODEPAGE,
    /// else PR_INTERNET_CPID); `cut` when only its start was read.
    Plain { text: String, cut: bool },
    /// The RTF of PR_RTF_COMPRESSED; `cut` when only its start was read or
    /// decompressed (by the limits, not by damage).
    Rtf { rtf: Vec<u8>, cut: bool },
}

/// A problem met reading a message's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextProblem {
    /// PR_BODY could not be read.
    Body(LtpError),
    /// PR_RTF_COMPRESSED could not be read.
    RtfValue(LtpError),
    /// PR_RTF_COMPRESSED was read and is damaged (a header, CRC or size
    /// that disagrees with the data); the RTF that could be decompressed
    /// is still the message's text.
    RtfDamage(RtfIssue),
    /// PR_RTF_COMPRESSED was read and cannot be decompressed at all.
    RtfUnreadable(RtfError),
}

/// What [`read_text`] read of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText {
    /// PR_BODY, else PR_RTF_COMPRESSED; `None` when the message has
    /// neither (or neither could be read).
    pub text: Option<BodyText>,
    /// PR_MESSAGE_DELIVERY_TIME.
    pub delivered: Option<FileTime>,
    /// In the order met: PR_BODY's, then PR_RTF_COMPRESSED's.
    pub problems: Vec<TextProblem>,
}

/// The start of the text of the message `pc` is the property context of,
/// within `limits`, and its delivery time. PR_RTF_COMPRESSED is read only
/// when PR_BODY is absent or unreadable.
pub fn read_text(pc: &PropertyContext<'_>, limits: &TextLimits) -> MessageText {
    let mut problems = Vec::new();
    let codepage = [PR_MESSAGE_CODEPAGE, PR_INTERNET_CPID]
        .into_iter()
        .find_map(|id| pc.get(id).ok().flatten().and_then(|v| v.as_i32()))
        .map_or(DEFAULT_CODEPAGE, |c| c as u32);
    let body = match value_prefix(pc, PR_BODY, limits.body_bytes) {
        Ok(v) => v.and_then(|(v, cut)| {
            let text = prop_string(&v, codepage)?;
            Some(BodyText::Plain { text, cut })
        }),
        Err(e) => {
            problems.push(TextProblem::Body(e));
            None
        }
    };
    // Outlook's own logs have no PR_BODY: their text is only in RTF.
    let text = body.or_else(|| rtf_text(pc, limits, &mut problems));
    let delivered = pc
        .get(PR_MESSAGE_DELIVERY_TIME)
        .ok()
        .flatten()
        .and_then(|v| v.as_filetime())
        .map(FileTime);
    MessageText {
        text,
        delivered,
        problems,
    }
}

/// The RTF of PR_RTF_COMPRESSED: its first `rtf_value_bytes` decompressed
/// to at most `rtf_bytes` of RTF. A bad header, CRC or size is a problem;
/// the RTF that could be read is still returned.
fn rtf_text(
    pc: &PropertyContext<'_>,
    limits: &TextLimits,
    problems: &mut Vec<TextProblem>,
) -> Option<BodyText> {
    let (value, cut) = match value_prefix(pc, PR_RTF_COMPRESSED, limits.rtf_value_bytes) {
        Ok(v) => v?,
        Err(e) => {
            problems.push(TextProblem::RtfValue(e));
            return None;
        }
    };
    match rtf_compressed::decompress(value.as_bytes(), limits.rtf_bytes) {
        Ok(d) => {
            let mut cut_short = cut;
            for issue in d.issues {
                // A value cut by our own read limit is expected; one
                // shorter than its header says, read whole, is damage.
                let ours =
                    !issue.is_damage() && (cut || matches!(issue, RtfIssue::OutputCapped { .. }));
                if ours {
                    cut_short = true;
                } else {
                    problems.push(TextProblem::RtfDamage(issue));
                }
            }
            Some(BodyText::Rtf {
                rtf: d.rtf,
                cut: cut_short,
            })
        }
        Err(e) => {
            problems.push(TextProblem::RtfUnreadable(e));
            None
        }
    }
}

/// The first `max` bytes of property `id`, and whether it has more; only
/// the blocks that hold those bytes are read and decoded.
fn value_prefix<'p>(
    pc: &'p PropertyContext<'_>,
    id: u16,
    max: usize,
) -> Result<Option<(PropValue<'p>, bool)>, LtpError> {
    let Some(entry) = pc.entry(id)? else {
        return Ok(None);
    };
    // Whole UTF-16 code units only.
    let keep = if entry.prop_type == prop_type::UNICODE {
        max & !1
    } else {
        max
    };
    let (bytes, cut) = pc.value_prefix(&entry, keep)?;
    Ok(Some((
        PropValue::new(entry.id, entry.prop_type, bytes),
        cut,
    )))
}
