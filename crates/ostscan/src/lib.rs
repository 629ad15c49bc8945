//! # ostscan
//!
//! The analyzer: rules over message sync metadata, findings, and reports.

// Change key / PCL rule engine and its catalogue.
pub mod rules;
pub use rules::{check, Finding, RuleInfo, Severity, SyncProps, RULES};
