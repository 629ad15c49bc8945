//! # ost-props
//!
//! Store, folder and message walk over `ost-ndb`, and the typed model of
//! synchronization metadata: XIDs (PR_CHANGE_KEY) and predecessor change
//! lists (PR_PREDECESSOR_CHANGE_LIST), with validation and comparison.
