//! Version comparison of PCLs and change keys ([MS-OXCFXICS] 3.1.5.6.1).
//!
//! PCL A *includes* PCL B when every XID of B has an XID in A with the same
//! namespace GUID and an equal or greater LocalId. Two versions are then
//! identical (each includes the other), ordered (one includes the other) or
//! in conflict (neither does).
//!
//! LocalIds are compared as big-endian numbers, which for equal lengths is
//! the same as comparing bytes. The spec requires one LocalId length per
//! namespace; when the inputs break that, the counters of that namespace
//! cannot be compared, and the result is [`PclOrdering::Incomparable`]
//! rather than a guess.

use crate::guid::Guid;
use crate::pcl::{Pcl, PclXids};
use crate::xid::Xid;

/// Anything that can stand for a version in a comparison: a PCL, or a
/// single change key (a one-element list).
pub trait XidList<'a> {
    /// Iterator over the XIDs; cloned to scan the list more than once.
    type Iter: Iterator<Item = Xid<'a>> + Clone;
    /// The XIDs of the list.
    fn xid_iter(&self) -> Self::Iter;
}

impl<'a> XidList<'a> for Pcl<'a> {
    type Iter = PclXids<'a>;
    fn xid_iter(&self) -> Self::Iter {
        self.xids()
    }
}

impl<'a> XidList<'a> for Xid<'a> {
    type Iter = core::iter::Once<Xid<'a>>;
    fn xid_iter(&self) -> Self::Iter {
        core::iter::once(*self)
    }
}

/// The namespace whose LocalId lengths disagree, which makes two lists
/// incomparable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthMismatch {
    /// The namespace GUID.
    pub namespace: Guid,
    /// One LocalId length seen for it.
    pub first_len: usize,
    /// Another LocalId length seen for it.
    pub second_len: usize,
}

/// How version A relates to version B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PclOrdering {
    /// Each includes the other: the same version.
    Identical,
    /// A includes B and not the reverse: A is newer.
    Includes,
    /// B includes A and not the reverse: A is older.
    IncludedBy,
    /// Neither includes the other: concurrent changes.
    Conflict,
    /// A namespace appears with two LocalId lengths; no verdict.
    Incomparable(LengthMismatch),
}

impl PclOrdering {
    /// The ordering seen from the other side.
    pub fn reverse(self) -> Self {
        match self {
            PclOrdering::Includes => PclOrdering::IncludedBy,
            PclOrdering::IncludedBy => PclOrdering::Includes,
            other => other,
        }
    }
}

/// First namespace, over both lists together, that carries two LocalId
/// lengths. Quadratic in the entry count, without allocation; PCLs hold a
/// handful of entries.
pub fn find_length_mismatch<'a, 'b, A, B>(a: A, b: B) -> Option<LengthMismatch>
where
    A: Iterator<Item = Xid<'a>> + Clone,
    B: Iterator<Item = Xid<'b>> + Clone,
{
    let both = a.map(|xid| (xid.namespace(), xid.local_id_len()));
    let both = both.chain(b.map(|xid| (xid.namespace(), xid.local_id_len())));
    let mut rest = both.clone();
    for (namespace, len) in both {
        // Advance `rest` past the current element so each pair is seen once.
        rest.next();
        let clash = rest
            .clone()
            .find(|&(other, other_len)| other == namespace && other_len != len);
        if let Some((_, other_len)) = clash {
            return Some(LengthMismatch {
                namespace,
                first_len: len,
                second_len: other_len,
            });
        }
    }
    None
}

/// Whether every XID of `b` is covered by an XID of `a` with the same
/// namespace and an equal or greater LocalId. Callers must have ruled out
/// length mismatches first.
fn includes<'a, 'b, A, B>(a: A, b: B) -> bool
where
    A: Iterator<Item = Xid<'a>> + Clone,
    B: Iterator<Item = Xid<'b>>,
{
    b.into_iter().all(|needed| {
        a.clone().any(|held| {
            held.namespace() == needed.namespace()
                && held.local_id_len() == needed.local_id_len()
                && held.local_id() >= needed.local_id()
        })
    })
}

/// Compares two versions given as PCLs and/or change keys.
pub fn compare<'a, 'b, A, B>(a: &A, b: &B) -> PclOrdering
where
    A: XidList<'a> + ?Sized,
    B: XidList<'b> + ?Sized,
{
    if let Some(mismatch) = find_length_mismatch(a.xid_iter(), b.xid_iter()) {
        return PclOrdering::Incomparable(mismatch);
    }
    let a_includes_b = includes(a.xid_iter(), b.xid_iter());
    let b_includes_a = includes(b.xid_iter(), a.xid_iter());
    match (a_includes_b, b_includes_a) {
        (true, true) => PclOrdering::Identical,
        (true, false) => PclOrdering::Includes,
        (false, true) => PclOrdering::IncludedBy,
        (false, false) => PclOrdering::Conflict,
    }
}

/// Whether `pcl` covers `change_key`, i.e. the PCL records the change the
/// change key names (or a later one of the same namespace).
pub fn pcl_includes_change_key(
    pcl: &Pcl<'_>,
    change_key: &Xid<'_>,
) -> Result<bool, LengthMismatch> {
    if let Some(mismatch) = find_length_mismatch(pcl.xids(), change_key.xid_iter()) {
        return Err(mismatch);
    }
    Ok(includes(pcl.xids(), change_key.xid_iter()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcl::serialize;

    fn guid(byte: u8) -> Guid {
        Guid::from_bytes([byte; 16])
    }

    #[test]
    fn orders_pcls_by_inclusion() {
        let (a1, a2, b1) = ([0, 0, 0, 1], [0, 0, 0, 2], [0, 0, 0, 0, 0, 7]);
        let old = serialize([Xid::new(guid(1), &a1).unwrap()]);
        let new = serialize([
            Xid::new(guid(1), &a2).unwrap(),
            Xid::new(guid(2), &b1).unwrap(),
        ]);
        let side = serialize([Xid::new(guid(3), &a1).unwrap()]);
        let old = Pcl::parse(&old).unwrap();
        let new = Pcl::parse(&new).unwrap();
        let side = Pcl::parse(&side).unwrap();
        assert_eq!(compare(&new, &old), PclOrdering::Includes);
        assert_eq!(compare(&old, &new), PclOrdering::IncludedBy);
        assert_eq!(compare(&new, &new), PclOrdering::Identical);
        assert_eq!(compare(&old, &side), PclOrdering::Conflict);
    }

    #[test]
    fn change_keys_compare_as_singletons() {
        let low = Xid::new(guid(1), &[0, 5]).unwrap();
        let high = Xid::new(guid(1), &[1, 0]).unwrap();
        let other = Xid::new(guid(2), &[0, 5]).unwrap();
        assert_eq!(compare(&high, &low), PclOrdering::Includes);
        assert_eq!(compare(&low, &high), PclOrdering::IncludedBy);
        assert_eq!(compare(&low, &other), PclOrdering::Conflict);
        let pcl_bytes = serialize([high, other]);
        let pcl = Pcl::parse(&pcl_bytes).unwrap();
        assert_eq!(compare(&pcl, &low), PclOrdering::Includes);
        assert_eq!(pcl_includes_change_key(&pcl, &low), Ok(true));
        let higher = Xid::new(guid(1), &[2, 0]).unwrap();
        assert_eq!(pcl_includes_change_key(&pcl, &higher), Ok(false));
    }

    #[test]
    fn length_mismatch_is_never_guessed() {
        let four = Xid::new(guid(1), &[0, 0, 0, 9]).unwrap();
        let six = Xid::new(guid(1), &[0, 0, 0, 0, 0, 1]).unwrap();
        let expected = LengthMismatch {
            namespace: guid(1),
            first_len: 4,
            second_len: 6,
        };
        assert_eq!(compare(&four, &six), PclOrdering::Incomparable(expected));
        let pcl_bytes = serialize([six]);
        let pcl = Pcl::parse(&pcl_bytes).unwrap();
        assert!(pcl_includes_change_key(&pcl, &four).is_err());
        // A mismatch inside one list also blocks the verdict.
        let inner = serialize([four, six]);
        let inner = Pcl::parse(&inner).unwrap();
        let unrelated = Xid::new(guid(2), &[1]).unwrap();
        assert!(matches!(
            compare(&inner, &unrelated),
            PclOrdering::Incomparable(_)
        ));
    }

    #[test]
    fn reverse_swaps_direction_only() {
        assert_eq!(PclOrdering::Includes.reverse(), PclOrdering::IncludedBy);
        assert_eq!(PclOrdering::IncludedBy.reverse(), PclOrdering::Includes);
        assert_eq!(PclOrdering::Conflict.reverse(), PclOrdering::Conflict);
        assert_eq!(PclOrdering::Identical.reverse(), PclOrdering::Identical);
    }
}
