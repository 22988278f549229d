//! WeChat's limits and ours, each a counted reason: quiet hours, the customer's daily and weekly pushes, four
//! mass messages a month, the account's template messages a day, subscribe consents. A counted limit is spent
//! with one conditional increment (`used < cap`) inside the delivery's transaction, so the database refuses a
//! send beyond it however many workers race; a send that did not happen gives it back.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

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

/// What one send spends: its counted limits and, for a subscribe message, one of the customer's consents to
/// its template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spend {
    pub limits: Vec<Counted>,
    pub consent: Option<(i64, String)>,
}

/// The kinds of counter a batch spends, one statement a kind, in this order (the account's template counter
/// last, so one refused send gives back the fewest rows); the consents after them. The rows themselves are
/// locked first, all at once, in one order every transaction shares (`lock_rows`), so two transactions that
/// meet on rows wait for each other instead of deadlocking.
const KINDS: [&str; 4] = [
    "frequency_daily",
    "frequency_weekly",
    "mass_monthly",
    "template_daily_cap",
];

/// A send wanting one of its limits: (the send, the limit's place in its list).
type Wanting = (usize, usize);

/// Rows a statement names at most: within SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK: usize = 500;

/// Spends what each send asks, a few statements for a whole batch rather than a few a send: each send gets all
/// of it or, one part used up, none (`Some(reason)`: the counted limit that refused it, or `no_consent`). Each
/// counter is spent with a conditional increment (`used < cap`), so the database refuses a send beyond any
/// limit however many workers race.
pub async fn spend_all(
    conn: &impl ConnectionTrait,
    spends: &[Spend],
) -> Result<Vec<Option<&'static str>>, DbErr> {
    let mut ledger = Ledger {
        refused: vec![None; spends.len()],
        granted: vec![Vec::new(); spends.len()],
        consented: vec![false; spends.len()],
    };
    create_counters(conn, spends).await?;
    lock_rows(conn, spends, &[]).await?;
    for kind in KINDS {
        // The counters of this kind the sends still standing want: (window, subject) -> (cap, wanting).
        let mut wanted: BTreeMap<(&str, &str), (u32, Vec<Wanting>)> = BTreeMap::new();
        for (send, spend) in spends.iter().enumerate() {
            if ledger.refused[send].is_some() {
                continue;
            }
            for (index, limit) in spend.limits.iter().enumerate() {
                if limit.reason == kind {
                    wanted
                        .entry((limit.window.as_str(), limit.subject.as_str()))
                        .or_insert((limit.cap, Vec::new()))
                        .1
                        .push((send, index));
                }
            }
        }
        // A counter one send wants (a customer's own): one statement for all of them in a window.
        let mut singles: BTreeMap<(&str, u32), Vec<(&str, Wanting)>> = BTreeMap::new();
        let mut shared = Vec::new();
        for ((window, subject), (cap, wanting)) in wanted {
            match wanting.as_slice() {
                [one] => singles
                    .entry((window, cap))
                    .or_default()
                    .push((subject, *one)),
                _ => shared.push((window, subject, cap, wanting)),
            }
        }
        for ((window, cap), wanting) in singles {
            for chunk in wanting.chunks(CHUNK) {
                let won: HashSet<String> = push_counters::Entity::update_many()
                    .col_expr(
                        push_counters::Column::Used,
                        Expr::col(push_counters::Column::Used).add(1),
                    )
                    .filter(push_counters::Column::Window.eq(window))
                    .filter(push_counters::Column::Subject.is_in(chunk.iter().map(|(s, _)| *s)))
                    .filter(push_counters::Column::Used.lt(cap as i32))
                    .exec_with_returning(conn)
                    .await?
                    .into_iter()
                    .map(|row| row.subject)
                    .collect();
                for (subject, (send, index)) in chunk {
                    match won.contains(*subject) {
                        true => ledger.granted[*send].push(*index),
                        false => {
                            let reason = spends[*send].limits[*index].reason;
                            ledger.refuse(conn, spends, *send, reason).await?;
                        }
                    }
                }
            }
        }
        // A counter several sends want (the account's, or a customer twice in a batch): all at once if they
        // fit, else one by one until it is used up.
        for (window, subject, cap, wanting) in shared {
            let all = wanting.len() as i32;
            let at_once = push_counters::Entity::update_many()
                .col_expr(
                    push_counters::Column::Used,
                    Expr::col(push_counters::Column::Used).add(all),
                )
                .filter(push_counters::Column::Window.eq(window))
                .filter(push_counters::Column::Subject.eq(subject))
                .filter(push_counters::Column::Used.lte(cap as i32 - all))
                .exec(conn)
                .await?;
            for (send, index) in wanting {
                let limit = &spends[send].limits[index];
                if at_once.rows_affected == 1 || spend(conn, limit).await? {
                    ledger.granted[send].push(index);
                } else {
                    ledger.refuse(conn, spends, send, limit.reason).await?;
                }
            }
        }
    }
    spend_consents(conn, spends, &mut ledger).await?;
    Ok(ledger.refused)
}

/// What a batch's sends hold while their limits are spent: what refused each, and what each has been
/// granted (given back if a later part refuses it).
struct Ledger {
    refused: Vec<Option<&'static str>>,
    granted: Vec<Vec<usize>>,
    consented: Vec<bool>,
}

impl Ledger {
    async fn refuse(
        &mut self,
        conn: &impl ConnectionTrait,
        spends: &[Spend],
        send: usize,
        reason: &'static str,
    ) -> Result<(), DbErr> {
        self.refused[send] = Some(reason);
        // Rows this transaction holds already: giving back takes no new lock.
        for index in std::mem::take(&mut self.granted[send]) {
            refund(conn, &spends[send].limits[index], 1).await?;
        }
        if std::mem::take(&mut self.consented[send]) {
            if let Some((user_id, template_id)) = &spends[send].consent {
                spend_consent(conn, *user_id, template_id, 1).await?;
            }
        }
        Ok(())
    }
}

/// Locks (on PostgreSQL; SQLite has one writer) every counter the sends name, then every consent they name
/// or `more_consents`, each in key order: every transaction that spends or gives back takes its rows in this
/// order before changing any, so none waits for another that waits for it.
async fn lock_rows(
    conn: &impl ConnectionTrait,
    spends: &[Spend],
    more_consents: &[(i64, String)],
) -> Result<(), DbErr> {
    let counters = counter_keys(spends);
    if !counters.is_empty() {
        let subjects: BTreeSet<&str> = counters.iter().map(|(subject, _)| *subject).collect();
        let windows: BTreeSet<&str> = counters.iter().map(|(_, window)| *window).collect();
        push_counters::Entity::find()
            .select_only()
            .column(push_counters::Column::Id)
            .filter(push_counters::Column::Subject.is_in(subjects))
            .filter(push_counters::Column::Window.is_in(windows))
            .order_by_asc(push_counters::Column::Subject)
            .order_by_asc(push_counters::Column::Window)
            .lock_exclusive()
            .into_tuple::<i64>()
            .all(conn)
            .await?;
    }
    let consents: BTreeSet<(&str, i64)> = spends
        .iter()
        .filter_map(|spend| spend.consent.as_ref())
        .chain(more_consents.iter())
        .map(|(user_id, template_id)| (template_id.as_str(), *user_id))
        .collect();
    if !consents.is_empty() {
        let templates: BTreeSet<&str> = consents.iter().map(|(template, _)| *template).collect();
        let users: BTreeSet<i64> = consents.iter().map(|(_, user)| *user).collect();
        subscribe_consents::Entity::find()
            .select_only()
            .column(subscribe_consents::Column::Id)
            .filter(subscribe_consents::Column::TemplateId.is_in(templates))
            .filter(subscribe_consents::Column::UserId.is_in(users))
            .order_by_asc(subscribe_consents::Column::TemplateId)
            .order_by_asc(subscribe_consents::Column::UserId)
            .lock_exclusive()
            .into_tuple::<i64>()
            .all(conn)
            .await?;
    }
    Ok(())
}

/// The (subject, window) of every counter the sends name, in key order.
fn counter_keys(spends: &[Spend]) -> BTreeSet<(&str, &str)> {
    spends
        .iter()
        .flat_map(|spend| spend.limits.iter())
        .map(|limit| (limit.subject.as_str(), limit.window.as_str()))
        .collect()
}

/// Makes every counter the sends name exist (at zero), in key order.
async fn create_counters(conn: &impl ConnectionTrait, spends: &[Spend]) -> Result<(), DbErr> {
    let rows: Vec<push_counters::ActiveModel> = counter_keys(spends)
        .into_iter()
        .map(|(subject, window)| push_counters::ActiveModel {
            subject: Set(subject.to_owned()),
            window: Set(window.to_owned()),
            used: Set(0),
            ..Default::default()
        })
        .collect();
    // Three values a row.
    for chunk in rows.chunks(CHUNK / 3) {
        push_counters::Entity::insert_many(chunk.to_vec())
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
    }
    Ok(())
}

/// The consents stage: one of each standing send's consents, one statement a template.
async fn spend_consents(
    conn: &impl ConnectionTrait,
    spends: &[Spend],
    ledger: &mut Ledger,
) -> Result<(), DbErr> {
    let mut wanted: BTreeMap<(&str, i64), Vec<usize>> = BTreeMap::new();
    for (send, spend) in spends.iter().enumerate() {
        if let (None, Some((user_id, template_id))) = (ledger.refused[send], &spend.consent) {
            wanted
                .entry((template_id.as_str(), *user_id))
                .or_default()
                .push(send);
        }
    }
    let mut by_template: BTreeMap<&str, Vec<(i64, usize)>> = BTreeMap::new();
    let mut twice = Vec::new();
    for ((template_id, user_id), sends) in wanted {
        match sends.as_slice() {
            [send] => by_template
                .entry(template_id)
                .or_default()
                .push((user_id, *send)),
            _ => twice.push((template_id, user_id, sends)),
        }
    }
    for (template_id, wanting) in by_template {
        for chunk in wanting.chunks(CHUNK) {
            let won: HashSet<i64> = subscribe_consents::Entity::update_many()
                .col_expr(
                    subscribe_consents::Column::Remaining,
                    Expr::col(subscribe_consents::Column::Remaining).sub(1),
                )
                .filter(subscribe_consents::Column::TemplateId.eq(template_id))
                .filter(subscribe_consents::Column::UserId.is_in(chunk.iter().map(|(u, _)| *u)))
                .filter(subscribe_consents::Column::Remaining.gte(1))
                .exec_with_returning(conn)
                .await?
                .into_iter()
                .map(|row| row.user_id)
                .collect();
            for (user_id, send) in chunk {
                match won.contains(user_id) {
                    true => ledger.consented[*send] = true,
                    false => ledger.refuse(conn, spends, *send, "no_consent").await?,
                }
            }
        }
    }
    for (template_id, user_id, sends) in twice {
        for send in sends {
            match spend_consent(conn, user_id, template_id, -1).await? {
                true => ledger.consented[send] = true,
                false => ledger.refuse(conn, spends, send, "no_consent").await?,
            }
        }
    }
    Ok(())
}

/// Gives back what sends spent (WeChat refused them, or they were not tried), and sets to none the consents
/// WeChat said were gone (43101): its rows locked first, like `spend_all`'s.
pub async fn give_back(
    conn: &impl ConnectionTrait,
    spends: &[Spend],
    consents_gone: &[(i64, String)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut counters: BTreeMap<(&str, &str), i32> = BTreeMap::new();
    for limit in spends.iter().flat_map(|spend| spend.limits.iter()) {
        *counters
            .entry((limit.window.as_str(), limit.subject.as_str()))
            .or_default() += 1;
    }
    let mut consents: BTreeMap<(&str, i64), i32> = BTreeMap::new();
    for (user_id, template_id) in spends.iter().filter_map(|spend| spend.consent.as_ref()) {
        *consents
            .entry((template_id.as_str(), *user_id))
            .or_default() += 1;
    }
    lock_rows(conn, spends, consents_gone).await?;
    for ((window, subject), count) in counters {
        refund_counter(conn, window, subject, count).await?;
    }
    for ((template_id, user_id), count) in consents {
        spend_consent(conn, user_id, template_id, count).await?;
    }
    for (user_id, template_id) in consents_gone {
        set_consents(conn, *user_id, template_id, 0, now).await?;
    }
    Ok(())
}

/// Spends one of `limit` (its row exists); `false` when it is used up (nothing changed).
async fn spend(conn: &impl ConnectionTrait, limit: &Counted) -> Result<bool, DbErr> {
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

/// Gives back `count` of `limit`.
async fn refund(conn: &impl ConnectionTrait, limit: &Counted, count: i32) -> Result<(), DbErr> {
    refund_counter(conn, &limit.window, &limit.subject, count).await
}

async fn refund_counter(
    conn: &impl ConnectionTrait,
    window: &str,
    subject: &str,
    count: i32,
) -> Result<(), DbErr> {
    push_counters::Entity::update_many()
        .col_expr(
            push_counters::Column::Used,
            Expr::col(push_counters::Column::Used).sub(count),
        )
        .filter(push_counters::Column::Subject.eq(subject))
        .filter(push_counters::Column::Window.eq(window))
        .filter(push_counters::Column::Used.gte(count))
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
