//! Campaign planning: the calendar file and the operators' edits, checked and written. The one place that knows
//! every activity kind (it reads each domain's config types), so it sits above the domains and below startup.

mod edit;
pub mod import;
pub mod routes;
mod rows;
pub mod service;
mod upsert;
