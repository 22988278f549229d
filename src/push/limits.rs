//! WeChat's limits and ours, each a counted reason: quiet hours, the customer's daily and weekly pushes, four
//! mass messages a month, the account's template messages a day, subscribe consents. A counted limit is spent
//! with one conditional increment (`used < cap`) inside the delivery's transaction, so the database refuses a
//! send beyond it however many workers race; a send that did not happen gives it back.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::config::PushSettings;
use crate::entities::{push_counters, subscribe_consents};

/// Consents a customer may bank for one template: a generous ceiling on repeated taps.
pub const MAX_CONSENTS: i32 = 20;

/// When the quiet hours around `now` end, if `now` is inside them.
pub fn quiet_until(settings: &PushSettings, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (start, end) = settings.quiet_minutes()?;
    let local = now.with_timezone(&Shanghai);
    let minute = local.hour() * 60 + local.minute();
    let inside = if start <= end {
        (start..end).contains(&minute)
    } else {
        minute >= start || minute < end
    };
    if !inside {
        return None;
    }
    let end_time = NaiveTime::from_hms_opt(end / 60, end % 60, 0)?;
    let mut day = local.date_naive();
    if minute >= end {
        day = day.succ_opt()?;
    }
    Shanghai
        .from_local_datetime(&day.and_time(end_time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The first moment from `at` on outside the quiet hours: a delivery held for a quota waits for both.
pub fn open_after(settings: &PushSettings, at: DateTime<Utc>) -> DateTime<Utc> {
    quiet_until(settings, at).unwrap_or(at)
}

/// The next Asia/Shanghai midnight: when daily quotas come back.
pub fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.with_timezone(&Shanghai).date_naive().succ_opt();
    tomorrow
        .and_then(|day| {
            Shanghai
                .from_local_datetime(&day.and_time(NaiveTime::MIN))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now + Duration::days(1))
}

/// A counted limit: what it counts, in which window, up to what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// The skip reason when it is spent.
    pub reason: &'static str,
    pub subject: String,
    pub window: String,
    pub cap: u32,
}

impl Counted {
    pub fn customer_day(settings: &PushSettings, user_id: i64, now: DateTime<Utc>) -> Self {
        Self {
            reason: "frequency_daily",
            subject: format!("u{user_id}:day"),
            window: crate::calendar::day_key(now),
            cap: settings.per_customer_daily,
        }
    }

    pub fn customer_week(settings: &PushSettings, user_id: i64, now: DateTime<Utc>) -> Self {
        let week = now.with_timezone(&Shanghai).iso_week();
        Self {
            reason: "frequency_weekly",
            subject: format!("u{user_id}:week"),
            window: format!("{}-W{:02}", week.year(), week.week()),
            cap: settings.per_customer_weekly,
        }
    }

    pub fn mass_month(settings: &PushSettings, user_id: i64, now: DateTime<Utc>) -> Self {
        let local = now.with_timezone(&Shanghai);
        Self {
            reason: "mass_monthly",
            subject: format!("u{user_id}:mass"),
            window: format!("{}-{:02}", local.year(), local.month()),
            cap: settings.mass_per_customer_monthly,
        }
    }

    pub fn template_day(settings: &PushSettings, now: DateTime<Utc>) -> Self {
        Self {
            reason: "template_daily_cap",
            subject: "account:template".into(),
            window: crate::calendar::day_key(now),
            cap: settings.template_daily_cap,
        }
    }
}

/// Spends one of `limit`; `false` when it is used up (nothing changed).
pub async fn spend(conn: &impl ConnectionTrait, limit: &Counted) -> Result<bool, DbErr> {
    push_counters::Entity::insert(push_counters::ActiveModel {
        subject: Set(limit.subject.clone()),
        window: Set(limit.window.clone()),
        used: Set(0),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            push_counters::Column::Subject,
            push_counters::Column::Window,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    let spent = push_counters::Entity::update_many()
        .col_expr(
            push_counters::Column::Used,
            Expr::col(push_counters::Column::Used).add(1),
        )
        .filter(push_counters::Column::Subject.eq(limit.subject.as_str()))
        .filter(push_counters::Column::Window.eq(limit.window.as_str()))
        .filter(push_counters::Column::Used.lt(limit.cap as i32))
        .exec(conn)
        .await?;
    Ok(spent.rows_affected == 1)
}

/// Gives back one of `limit` (a send that did not happen).
pub async fn refund(conn: &impl ConnectionTrait, limit: &Counted) -> Result<(), DbErr> {
    push_counters::Entity::update_many()
        .col_expr(
            push_counters::Column::Used,
            Expr::col(push_counters::Column::Used).sub(1),
        )
        .filter(push_counters::Column::Subject.eq(limit.subject.as_str()))
        .filter(push_counters::Column::Window.eq(limit.window.as_str()))
        .filter(push_counters::Column::Used.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Spends one of the customer's consents to `template_id`; `false` when none is left.
pub async fn spend_consent(
    conn: &impl ConnectionTrait,
    user_id: i64,
    template_id: &str,
    delta: i32,
) -> Result<bool, DbErr> {
    let changed = subscribe_consents::Entity::update_many()
        .col_expr(
            subscribe_consents::Column::Remaining,
            Expr::col(subscribe_consents::Column::Remaining).add(delta),
        )
        .filter(subscribe_consents::Column::UserId.eq(user_id))
        .filter(subscribe_consents::Column::TemplateId.eq(template_id))
        .filter(if delta < 0 {
            subscribe_consents::Column::Remaining.gte(-delta)
        } else {
            subscribe_consents::Column::Remaining.lte(MAX_CONSENTS - delta)
        })
        .exec(conn)
        .await?;
    Ok(changed.rows_affected == 1)
}

/// Sets the customer's consents to `template_id` (WeChat said none are left: 43101; or they banned it).
pub async fn set_consents(
    conn: &impl ConnectionTrait,
    user_id: i64,
    template_id: &str,
    remaining: i32,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    subscribe_consents::Entity::insert(subscribe_consents::ActiveModel {
        user_id: Set(user_id),
        template_id: Set(template_id.to_owned()),
        remaining: Set(remaining),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            subscribe_consents::Column::UserId,
            subscribe_consents::Column::TemplateId,
        ])
        .update_columns([
            subscribe_consents::Column::Remaining,
            subscribe_consents::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Adds one consent to `template_id` (the customer tapped "allow"), up to `MAX_CONSENTS`.
pub async fn add_consent(
    conn: &impl ConnectionTrait,
    user_id: i64,
    template_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let inserted = subscribe_consents::Entity::insert(subscribe_consents::ActiveModel {
        user_id: Set(user_id),
        template_id: Set(template_id.to_owned()),
        remaining: Set(1),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            subscribe_consents::Column::UserId,
            subscribe_consents::Column::TemplateId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    if inserted == 0 {
        spend_consent(conn, user_id, template_id, 1).await?;
    }
    Ok(())
}

/// The customer's consents, by template.
pub async fn consents(
    conn: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<subscribe_consents::Model>, DbErr> {
    subscribe_consents::Entity::find()
        .filter(subscribe_consents::Column::UserId.eq(user_id))
        .all(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PushSettings {
        PushSettings {
            quiet_hours_start: "22:00".into(),
            quiet_hours_end: "08:00".into(),
            per_customer_daily: 2,
            per_customer_weekly: 5,
            mass_per_customer_monthly: 4,
            template_daily_cap: 100_000,
            mass_calls_per_minute: 60,
            workers: 0,
            reclaim_after_secs: 60,
            rate_backoff_secs: 60,
            miniprogram_state: "formal".into(),
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        crate::calendar::parse_time(text).unwrap()
    }

    #[test]
    fn quiet_hours_wrap_midnight_in_shanghai() {
        let settings = settings();
        assert_eq!(
            quiet_until(&settings, at("2026-12-04T21:59:00+08:00")),
            None
        );
        assert_eq!(
            quiet_until(&settings, at("2026-12-04T22:00:00+08:00")),
            Some(at("2026-12-05T08:00:00+08:00"))
        );
        assert_eq!(
            quiet_until(&settings, at("2026-12-05T07:59:00+08:00")),
            Some(at("2026-12-05T08:00:00+08:00"))
        );
        assert_eq!(
            quiet_until(&settings, at("2026-12-05T08:00:00+08:00")),
            None
        );
    }

    #[test]
    fn windows_are_shanghai_days_iso_weeks_and_months() {
        let settings = settings();
        let now = at("2027-01-01T00:30:00+08:00");
        assert_eq!(
            Counted::customer_day(&settings, 7, now).window,
            "2027-01-01"
        );
        assert_eq!(Counted::customer_week(&settings, 7, now).window, "2026-W53");
        assert_eq!(Counted::mass_month(&settings, 7, now).window, "2027-01");
        assert_eq!(next_midnight(now), at("2027-01-02T00:00:00+08:00"));
    }
}
