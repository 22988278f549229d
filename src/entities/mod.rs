//! sea-orm entities, one file per table.

pub mod activities;
pub mod audit_log;
pub mod auto_reply_rules;
pub mod campaigns;
pub mod job_runs;
pub mod points_accounts;
pub mod points_ledger;
pub mod staff_accounts;
pub mod users;
pub mod wechat_inbox;
