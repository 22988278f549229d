//! Saved pushes: drafts (community managers; audited), their schedule, their cancelling, and how staff read
//! them with their counts.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use super::content;
use super::counts;
use super::model::{Channel, PushError, PushInput, PushView, QuietHours, Variant};
use crate::audit::{self, Actor};
use crate::entities::{push_deliveries, pushes};
use crate::segments;

pub mod status {
    pub const DRAFT: &str = "draft";
    pub const SCHEDULED: &str = "scheduled";
    pub const SENDING: &str = "sending";
    pub const SENT: &str = "sent";
    pub const CANCELLED: &str = "cancelled";
    /// A journey's push: it sends as its trigger fires, never as a whole.
    pub const JOURNEY: &str = "journey";
}

/// The push with this slug: the table's one finder by slug.
pub async fn find(conn: &impl ConnectionTrait, slug: &str) -> Result<pushes::Model, PushError> {
    pushes::Entity::find()
        .filter(pushes::Column::Slug.eq(slug))
        .one(conn)
        .await?
        .ok_or(PushError::NotFound)
}

/// The push with this id.
pub async fn find_by_id(conn: &impl ConnectionTrait, id: i64) -> Result<pushes::Model, PushError> {
    pushes::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(PushError::NotFound)
}

pub fn variants(push: &pushes::Model) -> Vec<Variant> {
    serde_json::from_value(push.variants.clone()).unwrap_or_default()
}

pub fn channel(push: &pushes::Model) -> Channel {
    Channel::parse(&push.channel).unwrap_or(Channel::Subscribe)
}

pub async fn view(conn: &impl ConnectionTrait, push: pushes::Model) -> Result<PushView, PushError> {
    let counts = counts::of(conn, push.id).await?;
    Ok(PushView {
        channel: channel(&push),
        variants: variants(&push),
        quiet_hours: QuietHours::parse(&push.quiet_hours),
        slug: push.slug,
        name: push.name,
        segment: push.segment_slug,
        status: push.status,
        scheduled_for: push.scheduled_for,
        created_by: push.created_by,
        created_at: push.created_at,
        started_at: push.started_at,
        finished_at: push.finished_at,
        counts,
    })
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<PushView>, PushError> {
    let rows = pushes::Entity::find()
        .filter(pushes::Column::SegmentSlug.is_not_null())
        .order_by_desc(pushes::Column::Id)
        .all(db)
        .await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        views.push(view(db, row).await?);
    }
    Ok(views)
}

async fn check(db: &DatabaseConnection, input: &PushInput) -> Result<(), PushError> {
    content::check(input)?;
    segments::saved::find(db, &input.segment).await?;
    Ok(())
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &PushInput,
    now: DateTime<Utc>,
) -> Result<PushView, PushError> {
    check(db, input).await?;
    let txn = crate::db::begin_write(db).await?;
    let row = pushes::ActiveModel {
        slug: Set(input.slug.clone()),
        name: Set(input.name.trim().to_owned()),
        channel: Set(input.channel.as_str().into()),
        segment_slug: Set(Some(input.segment.clone())),
        variants: Set(json!(input.variants)),
        quiet_hours: Set(input.quiet_hours.as_str().into()),
        status: Set(status::DRAFT.into()),
        created_by: Set(actor.label.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let saved = crate::db::insert_new(&txn, row)
        .await?
        .ok_or(PushError::SlugTaken)?;
    let view = view(&txn, saved).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("push.create", "push", view.slug.clone()).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// The push a journey sends its messages through (no segment): checked like any push.
pub async fn create_journey_push(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    filled: &[&str],
    input: &PushInput,
    now: DateTime<Utc>,
) -> Result<pushes::Model, PushError> {
    content::check_with(input, filled)?;
    let row = pushes::ActiveModel {
        slug: Set(input.slug.clone()),
        name: Set(input.name.trim().to_owned()),
        channel: Set(input.channel.as_str().into()),
        segment_slug: Set(None),
        variants: Set(json!(input.variants)),
        quiet_hours: Set(input.quiet_hours.as_str().into()),
        status: Set(status::JOURNEY.into()),
        created_by: Set(actor.label.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    crate::db::insert_new(conn, row)
        .await?
        .ok_or(PushError::SlugTaken)
}

/// Skips what of `push_id` is queued or held (a journey turned off), as `reason`.
pub async fn skip_pending(
    conn: &impl ConnectionTrait,
    push_id: i64,
    reason: &str,
) -> Result<u64, PushError> {
    let skipped = push_deliveries::Entity::update_many()
        .col_expr(
            push_deliveries::Column::Status,
            sea_orm::sea_query::Expr::value(super::deliver::state::SKIPPED),
        )
        .col_expr(
            push_deliveries::Column::Reason,
            sea_orm::sea_query::Expr::value(reason),
        )
        .filter(push_deliveries::Column::PushId.eq(push_id))
        .filter(
            push_deliveries::Column::Status
                .is_in([super::deliver::state::QUEUED, super::deliver::state::HELD]),
        )
        .exec(conn)
        .await?;
    Ok(skipped.rows_affected)
}

/// Replaces a draft (a scheduled push goes back to draft by being changed).
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    input: &PushInput,
    now: DateTime<Utc>,
) -> Result<PushView, PushError> {
    if input.slug != slug {
        return Err(PushError::Invalid {
            field: "slug".into(),
            message: "a push's slug does not change".into(),
        });
    }
    check(db, input).await?;
    let txn = crate::db::begin_write(db).await?;
    let before = find(&txn, slug).await?;
    if ![status::DRAFT, status::SCHEDULED].contains(&before.status.as_str()) {
        return Err(PushError::WrongStatus(format!(
            "a {} push cannot be changed",
            before.status
        )));
    }
    let mut row: pushes::ActiveModel = before.clone().into();
    row.name = Set(input.name.trim().to_owned());
    row.channel = Set(input.channel.as_str().into());
    row.segment_slug = Set(Some(input.segment.clone()));
    row.variants = Set(json!(input.variants));
    row.quiet_hours = Set(input.quiet_hours.as_str().into());
    row.status = Set(status::DRAFT.into());
    row.scheduled_for = Set(None);
    row.updated_at = Set(now);
    // Conditional on the status read: a push sent or cancelled meanwhile is not changed under its sender.
    let changed = pushes::Entity::update_many()
        .set(row)
        .filter(pushes::Column::Id.eq(before.id))
        .filter(pushes::Column::Status.eq(before.status.as_str()))
        .exec(&txn)
        .await?;
    if changed.rows_affected == 0 {
        return Err(PushError::WrongStatus("the push changed meanwhile".into()));
    }
    let after = view(&txn, find_by_id(&txn, before.id).await?).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("push.update", "push", slug.to_owned())
            .before(&view(&txn, before).await?)
            .after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Moves `push` from `from` to `to` (with `changes`), or says why it cannot.
async fn transition(
    conn: &impl ConnectionTrait,
    push: &pushes::Model,
    from: &[&str],
    to: &str,
    changes: impl FnOnce(&mut pushes::ActiveModel),
) -> Result<pushes::Model, PushError> {
    if !from.contains(&push.status.as_str()) {
        return Err(PushError::WrongStatus(format!(
            "a {} push cannot become {to}",
            push.status
        )));
    }
    let mut row: pushes::ActiveModel = push.clone().into();
    row.status = Set(to.into());
    changes(&mut row);
    // Conditional on the status read: a push two staff move at once moves once.
    let moved = pushes::Entity::update_many()
        .set(row)
        .filter(pushes::Column::Id.eq(push.id))
        .filter(pushes::Column::Status.eq(push.status.as_str()))
        .exec(conn)
        .await?;
    if moved.rows_affected == 0 {
        return Err(PushError::WrongStatus("the push changed meanwhile".into()));
    }
    find_by_id(conn, push.id).await
}

/// Schedules a draft for `at` (in the future); the `push.dispatch` job sends it then.
pub async fn schedule(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<PushView, PushError> {
    if at <= now {
        return Err(PushError::Invalid {
            field: "at".into(),
            message: "a schedule is in the future (send it instead)".into(),
        });
    }
    let txn = crate::db::begin_write(db).await?;
    let push = find(&txn, slug).await?;
    let moved = transition(&txn, &push, &[status::DRAFT], status::SCHEDULED, |row| {
        row.scheduled_for = Set(Some(at));
        row.updated_at = Set(now);
    })
    .await?;
    let view = view(&txn, moved).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("push.schedule", "push", slug.to_owned()).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// Cancels a push: a draft or scheduled one never sends; a sending one sends nothing more (what is queued or
/// held is skipped as `cancelled`; what WeChat already has stays sent).
pub async fn cancel(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<PushView, PushError> {
    let txn = crate::db::begin_write(db).await?;
    let push = find(&txn, slug).await?;
    let moved = transition(
        &txn,
        &push,
        &[status::DRAFT, status::SCHEDULED, status::SENDING],
        status::CANCELLED,
        |row| {
            row.finished_at = Set(Some(now));
            row.updated_at = Set(now);
        },
    )
    .await?;
    skip_pending(&txn, push.id, "cancelled").await?;
    let view = view(&txn, moved).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("push.cancel", "push", slug.to_owned()).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// Marks `push` as starting to send, once (a second start finds it sending already and does nothing).
pub(super) async fn begin_sending(
    conn: &impl ConnectionTrait,
    push: &pushes::Model,
    now: DateTime<Utc>,
) -> Result<Option<pushes::Model>, PushError> {
    match transition(
        conn,
        push,
        &[status::DRAFT, status::SCHEDULED],
        status::SENDING,
        |row| {
            row.started_at = Set(Some(now));
            row.fanout_beat = Set(Some(now));
            row.updated_at = Set(now);
        },
    )
    .await
    {
        Ok(moved) => Ok(Some(moved)),
        Err(PushError::WrongStatus(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Moves a sending push's fan-out on: its cursor (`after`, unless `None`), its heartbeat, and when it reached
/// the segment's end (`done`). `false` when the push is no longer sending (cancelled): the fan-out stops.
pub(super) async fn advance_fanout(
    conn: &impl ConnectionTrait,
    push_id: i64,
    after: Option<i64>,
    beat: DateTime<Utc>,
    done: Option<DateTime<Utc>>,
) -> Result<bool, PushError> {
    let mut row = pushes::ActiveModel {
        fanout_beat: Set(Some(beat)),
        ..Default::default()
    };
    if let Some(after) = after {
        row.fanout_after = Set(Some(after));
    }
    if let Some(done) = done {
        row.fanned_out_at = Set(Some(done));
    }
    let moved = pushes::Entity::update_many()
        .set(row)
        .filter(pushes::Column::Id.eq(push_id))
        .filter(pushes::Column::Status.eq(status::SENDING))
        .exec(conn)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// Sending pushes whose fan-out has not reached its end and has not moved since `before`.
pub(super) async fn stalled_fanouts(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<Vec<pushes::Model>, PushError> {
    Ok(pushes::Entity::find()
        .filter(pushes::Column::Status.eq(status::SENDING))
        .filter(pushes::Column::FannedOutAt.is_null())
        .filter(pushes::Column::FanoutBeat.lt(before))
        .all(conn)
        .await?)
}

/// Takes a stalled fan-out for this caller (its heartbeat moved only if nobody moved it since it was read).
pub(super) async fn take_fanout(
    conn: &impl ConnectionTrait,
    push: &pushes::Model,
    now: DateTime<Utc>,
) -> Result<Option<pushes::Model>, PushError> {
    let taken = pushes::Entity::update_many()
        .col_expr(
            pushes::Column::FanoutBeat,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(pushes::Column::Id.eq(push.id))
        .filter(pushes::Column::Status.eq(status::SENDING))
        .filter(pushes::Column::FanoutBeat.eq(push.fanout_beat))
        .exec(conn)
        .await?;
    if taken.rows_affected == 0 {
        return Ok(None);
    }
    Ok(Some(find_by_id(conn, push.id).await?))
}

/// The slugs of the pushes that will still read the segment `slug` (drafts, scheduled, sending).
pub async fn naming_segment(
    conn: &impl ConnectionTrait,
    slug: &str,
) -> Result<Vec<String>, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    pushes::Entity::find()
        .select_only()
        .column(pushes::Column::Slug)
        .filter(pushes::Column::SegmentSlug.eq(slug))
        .filter(pushes::Column::Status.is_in([status::DRAFT, status::SCHEDULED, status::SENDING]))
        .order_by_asc(pushes::Column::Id)
        .into_tuple()
        .all(conn)
        .await
}
