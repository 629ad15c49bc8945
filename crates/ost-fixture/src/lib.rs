//! # ost-fixture
//!
//! A writer of valid PST and OST files of every variant, for tests and
//! benchmarks. Not published.
