//! wxcampaign: the backend of a bank's WeChat official account and mini-program marketing calendar.

pub mod audit;
pub mod auth;
pub mod calendar;
pub mod campaigns;
pub mod clock;
pub mod config;
pub mod coupons;
pub mod db;
pub mod entities;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod jobs;
pub mod lottery;
pub mod official_account;
pub mod planning;
pub mod points;
pub mod quiz;
pub mod rewards;
pub mod staff;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod users;
pub mod wechat;
