//! The audit log: every staff write records who did what, with the state before and after, in the same
//! database transaction as the write itself, so a change and its record stand or fall together.

pub mod routes;
mod service;

pub use crate::auth::Actor;
pub use service::{list, record, AuditQuery, Entry};
