//! Points: an append-only ledger and a balance that change together, once per source reference, never below
//! zero. Other domains grant and spend through `service::apply` inside their own transaction, so a reward and the
//! record that earned it commit together.

pub mod catalogue;
pub mod routes;
pub mod service;
