//! A walk in batches with the next batch read ahead, on a cold file.
//!
//! `Pst::prefetch_nodes` queues a batch's blocks to be read many at a time,
//! but first looks them up in the B-trees, and on a cold file that waits
//! for the device (a BBT leaf for every few blocks). Asked on the walking
//! thread, that wait would stop the walk; asked too late, a block would be
//! read by the walk and again by the read-ahead. So a thread of its own
//! asks for batch k+1 while batch k is walked, and batch k+1 is walked
//! only once its blocks are queued.

use std::sync::mpsc::sync_channel;

use ost_ndb::{Nid, Pst};

/// Rows (or items) of a batch.
pub(crate) const BATCH: usize = 1024;

/// The nodes a batch of a walk will open.
#[derive(Debug, Default)]
pub(crate) struct BatchNodes {
    /// Opened alone: their property contexts.
    pub alone: Vec<Nid>,
    /// Opened with their subnodes (a log's text).
    pub with_subnodes: Vec<Nid>,
}

/// Data blocks read ahead at the start of each subnode's data of the
/// nodes read with their subnodes: a scan reads the first 8,000 bytes of
/// a Sync Issues log's text, and a data block holds up to 8,176 (more
/// with 4K pages). A second block would be read for nothing: 1% of the
/// OST bench store.
const SUBNODE_DATA_BLOCKS: usize = 1;

impl BatchNodes {
    fn ask(self, pst: &Pst<'_>) {
        if !self.alone.is_empty() {
            pst.prefetch_nodes(&self.alone, false);
        }
        if !self.with_subnodes.is_empty() {
            pst.prefetch_nodes(&self.with_subnodes, true);
            pst.prefetch_subnode_data(&self.with_subnodes, SUBNODE_DATA_BLOCKS);
        }
    }
}

/// Walk `batches` batches in order with `walk(k)`. When `cold` (the file
/// was not found in the page cache when opened), the nodes of batch k+1
/// (`plan(k + 1)`, worked out on this thread from what is already in
/// memory) are asked for on a thread of its own while batch k is walked.
pub(crate) fn in_batches(
    pst: &Pst<'_>,
    cold: bool,
    batches: usize,
    mut plan: impl FnMut(usize) -> BatchNodes,
    mut walk: impl FnMut(usize),
) {
    if !cold || batches == 0 {
        (0..batches).for_each(walk);
        return;
    }
    plan(0).ask(pst);
    std::thread::scope(|s| {
        let (ask, asked) = sync_channel::<BatchNodes>(1);
        let (queued, was_queued) = sync_channel::<()>(1);
        s.spawn(move || {
            for nodes in asked {
                nodes.ask(pst);
                if queued.send(()).is_err() {
                    break;
                }
            }
        });
        for k in 0..batches {
            // Batch k was asked for while batch k-1 was walked.
            if k > 0 {
                let _ = was_queued.recv();
            }
            if k + 1 < batches {
                let _ = ask.send(plan(k + 1));
            }
            walk(k);
        }
        // The thread ends when it has nothing more to ask for.
        drop(ask);
    });
}

/// The items of batch `k` of `all` ([`BATCH`] a batch).
pub(crate) fn batch<T>(all: &[T], k: usize) -> &[T] {
    let from = (k * BATCH).min(all.len());
    &all[from..all.len().min(from + BATCH)]
}

/// How many batches `len` items make.
pub(crate) fn batches(len: usize) -> usize {
    len.div_ceil(BATCH)
}
