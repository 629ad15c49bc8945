//! A vector that grows by whole chunks of a fixed size instead of by
//! doubling. The NBT's message entries (one per message, 32 bytes each:
//! 6.5 MB for 200,000 messages) are collected without knowing how many
//! there will be. A `Vec` grown by doubling moves them each time it grows,
//! into fresh memory each time, and fresh memory costs a page fault per
//! 4 KiB: with jemalloc, which cannot grow a large block in place, that
//! was 60% of the NBT walk, the longest step before the item walk starts.
//! Chunks never move, and each is allocated at its final size.

/// Items per chunk: 512 KiB of 32-byte entries.
const CHUNK: usize = 1 << 14;

#[derive(Debug)]
pub(crate) struct ChunkedVec<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

// Not derived: the derive would require `T: Default`.
impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        ChunkedVec {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> ChunkedVec<T> {
    pub(crate) fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(item),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_like_a_vec_across_chunk_boundaries() {
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5] {
            let mut chunked = ChunkedVec::default();
            let plain: Vec<usize> = (0..n).map(|i| i * 7).collect();
            for &x in &plain {
                chunked.push(x);
            }
            assert_eq!(chunked.len(), n);
            assert!(chunked.iter().eq(plain.iter()));
            for i in [
                0,
                1,
                CHUNK - 1,
                CHUNK,
                CHUNK + 1,
                n.saturating_sub(1),
                n,
                n + 1,
            ] {
                assert_eq!(chunked.get(i), plain.get(i), "n {n} index {i}");
            }
        }
    }
}
