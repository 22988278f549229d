//! Black-box tests: each starts the real application on port 0 with a fresh database and store.
//! Default: SQLite temp file + memory store. With TEST_DATABASE_URL / TEST_REDIS_URL: PostgreSQL / Redis.

mod architecture;
mod auth;
mod calendar;
mod catalogue;
mod cli;
mod config;
mod coupons;
mod fake_wechat;
mod fulfilment;
mod gate;
mod health;
mod helpers;
mod idempotency;
mod logins;
mod lottery;
mod openapi;
mod points;
mod quiz_banks;
mod quiz_play;
mod rate_limit;
mod referrals;
mod request_bodies;
mod rewards;
mod secrets;
mod security;
mod staff;
mod store;
mod store_draw;
mod store_loss;
mod teams;
mod wechat_callback;
mod wechat_client;
mod wechat_properties;
mod wechat_replies;
mod wechat_sim;
