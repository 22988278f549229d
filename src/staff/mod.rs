//! Staff accounts: the people who run the calendar, with roles; their logins and the admins who manage them.

pub mod routes;
pub mod service;

pub use service::{create_staff, NewStaff};
