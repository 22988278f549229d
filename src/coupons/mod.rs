//! Coupons: templates (value, validity, limits) and the coupons customers hold, issued once per source
//! reference, used once at the counter, expired by a job.

pub mod routes;
pub mod service;
