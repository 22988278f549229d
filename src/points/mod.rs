//! Points: balances, the statement, staff adjustments and the catalogue. The ledger itself (an append-only
//! record and a balance that change together, once per source reference, never below zero) is written by
//! `rewards`, inside the caller's transaction, so a reward and the record that earned it commit together.

pub mod catalogue;
pub mod routes;
pub mod service;
