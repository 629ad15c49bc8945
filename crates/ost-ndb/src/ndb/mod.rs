//! The NDB layer: header, pages, B-trees, blocks, nodes.

pub mod crc;
pub mod crypt;
