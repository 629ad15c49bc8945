//! # ostscan
//!
//! The analyzer: rules over message sync metadata, findings, and reports.
