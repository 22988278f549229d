//! Triggered journeys: "when TRIGGER (and CONDITION), after DELAY, send" a message, evaluated by the
//! `journeys.run` job every minute on any instance. Triggers: a coupon expiring in N days, the new-customer
//! plan's day unlocking (until the customer finishes the plan), a customer dormant for N days, content of a
//! category viewed, a campaign's start coming to a segment. Each step fires once per customer: its delivery
//! row is keyed by (journey's push, customer, step), and the deliveries go through the pushes' workers and
//! limits like any push.

pub mod model;
pub mod routes;
pub mod run;
pub mod saved;

pub use model::{JourneyInput, JourneyView, Trigger};
pub use run::{run, JourneyRun};
pub use saved::SegmentUse;
