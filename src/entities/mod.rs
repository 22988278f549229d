//! sea-orm entities, one file per table.

pub mod activities;
pub mod audit_log;
pub mod auto_reply_rules;
pub mod campaigns;
pub mod catalogue_items;
pub mod chance_grants;
pub mod coupon_templates;
pub mod draw_records;
pub mod job_runs;
pub mod points_accounts;
pub mod points_ledger;
pub mod prize_deliveries;
pub mod prize_pools;
pub mod prizes;
pub mod quiz_attempts;
pub mod quiz_banks;
pub mod quiz_questions;
pub mod redemptions;
pub mod referral_codes;
pub mod referrals;
pub mod staff_accounts;
pub mod team_members;
pub mod teams;
pub mod user_coupons;
pub mod users;
pub mod wechat_inbox;
