//! The behaviour log: what customers looked at in the mini-program and H5 pages (page views, content by
//! category), reported by the page through `POST /api/v1/events`, checked against a schema, timed by the
//! server, kept for `behaviour.retention_days`. Segments ask it "who did X in the last N days" as SQL.

pub mod matching;
pub mod record;
pub mod routes;

pub use record::{purge, record, BehaviourError, EventBatch, Recorded, ReportedEvent};
