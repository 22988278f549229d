//! Pushes for community managers: a segment, a channel (mini-program subscribe message, official-account
//! template message, mass send by tag, customer-service message), variants split by weight, a schedule.
//! Sending fans out through the store's work queue so any instance delivers; each (push, customer) is one
//! `push_deliveries` row, delivered at most once; WeChat's limits are counted reasons, never silent losses.

pub mod consent;
pub mod content;
pub mod counts;
pub mod deliver;
pub mod fanout;
pub mod limits;
pub mod mass;
pub mod model;
pub mod reports;
pub mod routes;
pub mod saved;
pub mod worker;

pub use counts::PushCounts;
pub use deliver::{release, work, Delivering, Pass, Released};
pub use model::{Channel, PushError, PushInput, PushView, QuietHours, Variant};
