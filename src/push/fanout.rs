//! Sending a push: its segment read a page of ids at a time by the database, one delivery row per customer
//! (unique per push and customer, so a second start or a retry adds nothing), each customer's text rendered
//! and recorded, and the queued ones put on the store's work queue for any instance's workers.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::content;
use super::deliver::state;
use super::limits;
use super::model::{Channel, PushError, PushView, Variant};
use super::saved::{self, status};
use crate::audit::{self, Actor};
use crate::config::Settings;
use crate::entities::{push_deliveries, pushes};
use crate::segments::{self, RuleContext};
use crate::store::StateStore;
use crate::users::service::{push_targets, PushTarget};

/// The queue every instance's delivery workers read.
pub const QUEUE: &str = "push-deliveries";
/// Customers read from the segment at a time.
const PAGE: u64 = 1_000;
/// Deliveries one queue message carries: a taken-over message redoes at most this many checks.
pub const PER_MESSAGE: usize = 20;

/// Which variant a customer gets: the same every time for the same push (a hash, not a draw), split by
/// weight.
pub fn pick(push_id: i64, user_id: i64, variants: &[Variant]) -> Option<&Variant> {
    let digest = Sha256::digest(format!("{push_id}:{user_id}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    let mut point = (u64::from_be_bytes(bytes) % 100) as u32;
    for variant in variants {
        if point < variant.weight {
            return Some(variant);
        }
        point -= variant.weight;
    }
    variants.last()
}

/// What stops a push from reaching this customer at all, known before anything is sent.
pub(super) fn unreachable(channel: Channel, target: &PushTarget) -> Option<&'static str> {
    if target.disabled {
        return Some("account_disabled");
    }
    if target.opted_out {
        return Some("opted_out");
    }
    match channel {
        Channel::Subscribe if target.mp_openid.is_none() => Some("no_mini_program"),
        Channel::Subscribe => None,
        _ if target.oa_openid.is_none() || !target.following => Some("not_following"),
        _ => None,
    }
}

/// The message's content for one customer: template fields as WeChat takes them, or the text.
pub fn rendered(variant: &Variant, values: &BTreeMap<String, String>) -> Value {
    if let Some(text) = &variant.text {
        return json!({ "text": content::render(text, values) });
    }
    let fields: serde_json::Map<String, Value> = variant
        .fields
        .iter()
        .map(|(key, text)| {
            (
                key.clone(),
                json!({ "value": content::render(text, values) }),
            )
        })
        .collect();
    Value::Object(fields)
}

/// Sends `slug` now: refused during the quiet hours unless `override_quiet_hours` (then each customer gets
/// the push's own quiet-hours rule), and for a segment that takes in nobody.
pub async fn send(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    settings: &Settings,
    actor: &Actor,
    slug: &str,
    override_quiet_hours: bool,
    now: DateTime<Utc>,
) -> Result<PushView, PushError> {
    let push = saved::find(db, slug).await?;
    if ![status::DRAFT, status::SCHEDULED].contains(&push.status.as_str()) {
        return Err(PushError::WrongStatus(format!(
            "a {} push is not sent again",
            push.status
        )));
    }
    if limits::quiet_until(&settings.push, now).is_some() && !override_quiet_hours {
        let local = now.with_timezone(&chrono_tz::Asia::Shanghai);
        return Err(PushError::QuietHours(local.format("%H:%M").to_string()));
    }
    start(db, store, settings, Some(actor), push, now).await?;
    saved::view(db, saved::find(db, slug).await?).await
}

/// Fans `push` out (a staff send, or the schedule's time come): nothing happens for a push another caller
/// started already.
pub async fn start(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    settings: &Settings,
    actor: Option<&Actor>,
    push: pushes::Model,
    now: DateTime<Utc>,
) -> Result<u64, PushError> {
    match begin(db, settings, actor, push, now).await? {
        Some(push) => fan_out(db, store, settings, &push, now, None).await,
        None => Ok(0),
    }
}

/// Moves `push` to sending (audited for a staff send), refusing a segment that takes in nobody; `None` when
/// another caller started it already.
pub async fn begin(
    db: &DatabaseConnection,
    settings: &Settings,
    actor: Option<&Actor>,
    push: pushes::Model,
    now: DateTime<Utc>,
) -> Result<Option<pushes::Model>, PushError> {
    let segment = push.segment_slug.clone().unwrap_or_default();
    let rules = RuleContext::new(settings, now);
    if segments::count_members(db, &segment, &rules).await? == 0 {
        return Err(PushError::SegmentEmpty);
    }
    let txn = crate::db::begin_write(db).await?;
    let Some(push) = saved::begin_sending(&txn, &push, now).await? else {
        return Ok(None);
    };
    if let Some(actor) = actor {
        audit::record(
            &txn,
            actor,
            audit::Entry::new("push.send", "push", push.slug.clone())
                .after(&json!({ "segment": segment })),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(Some(push))
}

/// A fan-out whose last page moved this long ago has stopped (its instance died, its request was cut off):
/// `release` resumes it.
pub const STALLED: chrono::Duration = chrono::Duration::minutes(2);

/// Writes and queues the deliveries of a sending `push` from its cursor to the segment's end, a page at a
/// time, moving the cursor (and its heartbeat) after each page; then marks the fan-out done, which is what
/// lets the push finish. A fan-out that dies is resumed from its cursor: a page done twice adds nothing (the
/// deliveries' unique key) and queues nothing twice that matters (the claim lets one worker through). A push
/// cancelled meanwhile stops it. `stop_after_pages` stops it part-way, as an instance that dies does (tests).
pub async fn fan_out(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    settings: &Settings,
    push: &pushes::Model,
    now: DateTime<Utc>,
    stop_after_pages: Option<usize>,
) -> Result<u64, PushError> {
    let begun = std::time::Instant::now();
    // The heartbeat follows real time from `now`, so a long fan-out is never taken for a stalled one.
    let beat = || now + chrono::Duration::from_std(begun.elapsed()).unwrap_or_default();
    let segment = push.segment_slug.clone().unwrap_or_default();
    let rules = RuleContext::new(settings, now);
    let channel = saved::channel(push);
    let variants = saved::variants(push);
    let wants_points = variants.iter().any(|variant| {
        variant
            .fields
            .values()
            .chain(variant.text.iter())
            .any(|text| text.contains("{{points}}"))
    });
    let mut after = push.fanout_after.unwrap_or(0);
    let mut queued = 0;
    for page in 0.. {
        if stop_after_pages.is_some_and(|pages| page >= pages) {
            return Ok(queued);
        }
        let ids = segments::member_ids(db, &segment, &rules, after, PAGE).await?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        let targets = push_targets(db, &ids).await?;
        let points = match wants_points {
            true => crate::points::service::balances(db, &ids).await?,
            false => HashMap::new(),
        };
        let rows: Vec<push_deliveries::ActiveModel> = targets
            .iter()
            .filter_map(|target| {
                let variant = pick(push.id, target.user_id, &variants)?;
                let values = BTreeMap::from([
                    ("today".to_owned(), crate::calendar::day_key(now)),
                    (
                        "points".to_owned(),
                        points
                            .get(&target.user_id)
                            .copied()
                            .unwrap_or(0)
                            .to_string(),
                    ),
                ]);
                let skipped = unreachable(channel, target);
                Some(delivery(
                    push,
                    target.user_id,
                    "",
                    variant,
                    rendered(variant, &values),
                    skipped,
                    now,
                ))
            })
            .collect();
        insert(db, rows).await?;
        if channel != Channel::Mass {
            queued += enqueue_page(db, store, push.id, &ids).await?;
        }
        after = last;
        if !saved::advance_fanout(db, push.id, Some(after), beat(), None).await? {
            tracing::info!(
                push = push.slug,
                "the push stopped sending: its fan-out stops"
            );
            return Ok(queued);
        }
    }
    saved::advance_fanout(db, push.id, None, beat(), Some(now)).await?;
    if channel == Channel::Mass {
        // One call sends to all: one message for the push.
        store
            .enqueue(QUEUE, &[super::mass::message(push.id)])
            .await?;
    }
    Ok(queued)
}

/// Resumes the fan-outs that stopped moving (the `push.release` job): each taken by one instance at a time (a
/// conditional move of its heartbeat), from its cursor. One that fails again is logged and left for the next
/// firing; the others still run. Returns how many it resumed.
pub async fn resume_stalled(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    settings: &Settings,
    now: DateTime<Utc>,
) -> u64 {
    let stalled = match saved::stalled_fanouts(db, now - STALLED).await {
        Ok(stalled) => stalled,
        Err(error) => {
            tracing::error!(?error, "stalled fan-outs could not be read");
            return 0;
        }
    };
    let mut resumed = 0;
    for push in stalled {
        let slug = push.slug.clone();
        let taken = match saved::take_fanout(db, &push, now).await {
            Ok(Some(push)) => push,
            Ok(None) => continue,
            Err(error) => {
                tracing::error!(push = slug, ?error, "a stalled fan-out could not be taken");
                continue;
            }
        };
        tracing::warn!(push = slug, after = ?taken.fanout_after, "a stalled fan-out is resumed");
        match fan_out(db, store, settings, &taken, now, None).await {
            Ok(_) => resumed += 1,
            Err(error) => {
                tracing::error!(push = slug, ?error, "a resumed fan-out failed: tried again")
            }
        }
    }
    resumed
}

/// A delivery row, queued or (`skipped` with its reason) counted out from the start.
pub fn delivery(
    push: &pushes::Model,
    user_id: i64,
    step: &str,
    variant: &Variant,
    fields: Value,
    skipped: Option<&str>,
    now: DateTime<Utc>,
) -> push_deliveries::ActiveModel {
    push_deliveries::ActiveModel {
        push_id: Set(push.id),
        user_id: Set(user_id),
        step: Set(step.to_owned()),
        variant: Set(variant.name.clone()),
        fields: Set(fields),
        status: Set(match skipped {
            Some(_) => state::SKIPPED.into(),
            None => state::QUEUED.into(),
        }),
        reason: Set(skipped.map(str::to_owned)),
        attempts: Set(0),
        queued_at: Set(now),
        ..Default::default()
    }
}

/// Inserts delivery rows; one that exists (a second start, a journey step that fired) stays as it was.
pub async fn insert(
    conn: &impl ConnectionTrait,
    rows: Vec<push_deliveries::ActiveModel>,
) -> Result<(), PushError> {
    for chunk in rows.chunks(200) {
        push_deliveries::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    push_deliveries::Column::PushId,
                    push_deliveries::Column::UserId,
                    push_deliveries::Column::Step,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Puts the queued deliveries of `push` for `user_ids` on the work queue; returns how many.
async fn enqueue_page(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    push_id: i64,
    user_ids: &[i64],
) -> Result<u64, PushError> {
    let ids: Vec<i64> = push_deliveries::Entity::find()
        .select_only()
        .column(push_deliveries::Column::Id)
        .filter(push_deliveries::Column::PushId.eq(push_id))
        .filter(push_deliveries::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(push_deliveries::Column::Status.eq(state::QUEUED))
        .into_tuple()
        .all(db)
        .await?;
    enqueue(store, &ids).await?;
    Ok(ids.len() as u64)
}

/// The customers with a delivery of `push_id`, as a subquery.
pub fn recipients(push_id: i64) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(push_deliveries::Column::UserId)
        .from(push_deliveries::Entity)
        .and_where(push_deliveries::Column::PushId.eq(push_id))
        .to_owned()
}

/// The deliveries of `push_id` to `user` queued after `since` (both expressions of the outer query's row), as
/// a correlated subquery.
pub fn recipients_since(
    push_id: i64,
    user: sea_orm::sea_query::SimpleExpr,
    since: sea_orm::sea_query::SimpleExpr,
) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let mut query = recipients(push_id);
    query
        .and_where(Expr::col((push_deliveries::Entity, push_deliveries::Column::UserId)).eq(user))
        .and_where(
            Expr::col((push_deliveries::Entity, push_deliveries::Column::QueuedAt)).gt(since),
        );
    query
}

/// Puts deliveries on the work queue, `PER_MESSAGE` to a message.
pub async fn enqueue(store: &dyn StateStore, ids: &[i64]) -> Result<(), PushError> {
    let messages: Vec<String> = ids
        .chunks(PER_MESSAGE)
        .map(|chunk| {
            chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    for batch in messages.chunks(100) {
        store.enqueue(QUEUE, batch).await?;
    }
    Ok(())
}
