//! Database migrations for wxcampaign: one file per change, applied in order at start-up and by `wxcampaign migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_users;
mod m20261123_000002_create_staff_accounts;
mod m20261123_000003_create_audit_log;
mod m20261123_000004_create_wechat_inbox_and_replies;
mod m20261123_000005_create_calendar;
mod m20261123_000006_create_points;
mod m20261123_000007_create_lottery;
mod m20261123_000008_create_coupons;
mod m20261123_000009_add_prize_coupon_template;
mod m20261123_000010_create_catalogue;
mod m20261123_000011_add_chance_caps;
mod m20261123_000012_create_quiz_banks;
mod m20261123_000013_create_quiz_attempts;
mod m20261202_000014_add_user_disabled;
mod m20261202_000015_add_draw_stock_seq;
mod m20261203_000016_create_prize_deliveries;
mod m20261204_000017_create_teams_and_referrals;
mod m20261204_000018_create_posters;
mod m20261204_000019_create_customer_events;
mod m20261205_000020_create_tasks;
mod m20261206_000021_create_segments;
mod m20261207_000022_create_pushes;
mod m20261207_000023_push_recovery;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_users::Migration),
            Box::new(m20261123_000002_create_staff_accounts::Migration),
            Box::new(m20261123_000003_create_audit_log::Migration),
            Box::new(m20261123_000004_create_wechat_inbox_and_replies::Migration),
            Box::new(m20261123_000005_create_calendar::Migration),
            Box::new(m20261123_000006_create_points::Migration),
            Box::new(m20261123_000007_create_lottery::Migration),
            Box::new(m20261123_000008_create_coupons::Migration),
            Box::new(m20261123_000009_add_prize_coupon_template::Migration),
            Box::new(m20261123_000010_create_catalogue::Migration),
            Box::new(m20261123_000011_add_chance_caps::Migration),
            Box::new(m20261123_000012_create_quiz_banks::Migration),
            Box::new(m20261123_000013_create_quiz_attempts::Migration),
            Box::new(m20261202_000014_add_user_disabled::Migration),
            Box::new(m20261202_000015_add_draw_stock_seq::Migration),
            Box::new(m20261203_000016_create_prize_deliveries::Migration),
            Box::new(m20261204_000017_create_teams_and_referrals::Migration),
            Box::new(m20261204_000018_create_posters::Migration),
            Box::new(m20261204_000019_create_customer_events::Migration),
            Box::new(m20261205_000020_create_tasks::Migration),
            Box::new(m20261206_000021_create_segments::Migration),
            Box::new(m20261207_000022_create_pushes::Migration),
            Box::new(m20261207_000023_push_recovery::Migration),
        ]
    }
}
