//! sea-orm entities, one file per table.

pub mod audit_log;
pub mod staff_accounts;
pub mod users;
