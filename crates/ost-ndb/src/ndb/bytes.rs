//! Bounds-checked little-endian reads from a slice. Every read of a field
//! from the file goes through these, so a short buffer is an `Option::None`
//! (turned into an `OutOfBounds` error by the caller), never a panic.

#[inline]
pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

#[inline]
pub fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

#[inline]
pub fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

#[inline]
pub fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// A 32- or 64-bit field, as ANSI and Unicode files store ids and offsets.
#[inline]
pub fn uint_at(b: &[u8], off: usize, wide: bool) -> Option<u64> {
    if wide {
        u64_at(b, off)
    } else {
        u32_at(b, off).map(u64::from)
    }
}

/// `b[off..off + len]`, or `None` when that runs past the end.
#[inline]
pub fn slice_at(b: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    b.get(off..off.checked_add(len)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_refuses_overruns() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_at(&b, 0), Some(0x0201));
        assert_eq!(u32_at(&b, 1), Some(0x0504_0302));
        assert_eq!(u64_at(&b, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(u64_at(&b, 2), None);
        assert_eq!(u16_at(&b, usize::MAX), None);
        assert_eq!(uint_at(&b, 0, false), Some(0x0403_0201));
        assert_eq!(slice_at(&b, 8, 2), None);
        assert_eq!(slice_at(&b, 8, 1), Some(&b[8..]));
    }
}
