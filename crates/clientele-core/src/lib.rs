//! The domain core of Clientele: identifiers, money, contacts, events, orders and the
//! per-contact metrics they project to. Pure Rust: no database, network or async runtime.

pub mod contact;
pub mod email;
pub mod error;
pub mod event;
pub mod ids;
pub mod metrics;
pub mod money;
pub mod order;
pub mod phone;
pub mod time;

pub use error::FieldError;
pub use ids::{ContactId, WorkspaceId};
