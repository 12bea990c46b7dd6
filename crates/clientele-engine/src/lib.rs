//! The engine: the application's write paths composed from store primitives — ingest with
//! idempotency and projections in one transaction, replay, contact lifecycle and merge, and
//! file import, and the automation that reacts to ladder changes.

pub mod automation;
pub mod clv;
pub mod contacts;
pub mod import;
pub mod ingest;
pub mod ladder;
pub mod loyalty;
pub mod projection;
pub mod rebuild;
pub mod workspace;

pub use ingest::{ItemResult, ItemStatus, ingest};
