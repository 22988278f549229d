//! The yearly calendar's campaigns and their activities, below the domains: `gate` (the one check of customer
//! actions), `lifecycle`, pausing, and the listings customers and staff read. Writing a campaign (which knows
//! every activity kind) is `planning`, above the domains.

pub mod gate;
pub mod lifecycle;
mod listing;
pub mod model;
mod pause;
pub mod routes;
pub mod service;
