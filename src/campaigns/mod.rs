//! The yearly calendar: campaigns and their activities. Below the domains: `gate` (the one check of customer
//! actions) and `lifecycle`. Above them: `import` (what operators write, the one place that knows every kind)
//! and the staff use cases (`edit`, `pause`, `listing`, `upsert`), gathered in `service` for routes and jobs.

mod edit;
pub mod gate;
pub mod import;
pub mod lifecycle;
mod listing;
mod model;
mod pause;
pub mod routes;
pub mod service;
mod upsert;
