//! # ostscan
//!
//! The analyzer: rules over message sync metadata, findings, and reports.

// Change key / PCL rule engine and its catalogue.
pub mod rules;
pub use rules::{check, Finding, RuleInfo, Severity, SyncProps, RULES};

// Change keys and PCLs as reports show them: raw hex and decoded.
pub mod proof;
// One file's scan: every rule on every item, rolled up per folder.
pub mod scan;
// Paths kept as exact bytes: lossless JSON, escaped text.
pub mod paths;
// Whether a file was read whole: ok, partial, unreadable.
pub mod status;
// What is said about an input that cannot be opened.
pub mod input;
// Output forms of a scan: JSON report, NDJSON records, text summary.
pub mod report;
// Batch runs: file discovery, manifests, shards, resume.
pub mod batch;
// Every item of a store, read in parallel (scan, items, diff).
pub mod walk;
// One line per message, as `ostscan items` prints it.
pub mod items;
// What a file's header and B-trees say (`ostscan info`).
pub mod info;
// One raw change key or PCL decoded (`ostscan decode`).
pub mod decode;
// Every property of one node (`ostscan dump`).
pub mod dump;
// Events for Timesketch (`ostscan timeline`).
pub mod timeline;
// Two copies of one mailbox compared item by item (`ostscan diff`).
pub mod diff;
// The EWS / Graph form of a change key (reconcile's listings, decode).
pub mod ews;
// A cache compared with the server's listing (`ostscan reconcile`).
pub mod reconcile;
// Sync Issues folders, conflict items and synchronization logs; SYNC010.
pub mod sync_issues;
// Plain text of RTF, with the lines painted in one colour marked.
pub mod rtf;
