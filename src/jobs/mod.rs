//! Scheduled work. Every firing has a name and the instant it was scheduled for, and is recorded once in
//! `job_runs` (unique job + scheduled_for) under a store lock, so N instances fire it once, and an instance that
//! starts after a missed firing catches it up instead of skipping it.

mod scheduler;

pub use scheduler::{spawn, Scheduler};
