//! Saved journeys: created off (community managers; audited), turned on and off, read with their counts.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;

use super::model::{JourneyInput, JourneyView, Trigger};
use crate::audit::{self, Actor};
use crate::campaigns::gate;
use crate::config::Settings;
use crate::entities::journeys;
use crate::push::{self, Channel, PushError, PushInput};
use crate::segments::{self, RuleContext};

/// The journey with this slug: the table's one finder.
pub async fn find(conn: &impl ConnectionTrait, slug: &str) -> Result<journeys::Model, PushError> {
    journeys::Entity::find()
        .filter(journeys::Column::Slug.eq(slug))
        .one(conn)
        .await?
        .ok_or(PushError::JourneyNotFound)
}

pub fn trigger(journey: &journeys::Model) -> Option<Trigger> {
    serde_json::from_value(journey.trigger.clone()).ok()
}

pub async fn view(
    conn: &impl ConnectionTrait,
    journey: journeys::Model,
) -> Result<JourneyView, PushError> {
    let push =
        push::saved::view(conn, push::saved::find_by_id(conn, journey.push_id).await?).await?;
    Ok(JourneyView {
        trigger: trigger(&journey).ok_or_else(|| {
            PushError::Unexpected(anyhow::anyhow!(
                "journey {}: an unreadable trigger",
                journey.slug
            ))
        })?,
        slug: journey.slug,
        name: journey.name,
        condition: journey.condition,
        delay_minutes: journey.delay_minutes,
        channel: push.channel,
        variants: push.variants,
        quiet_hours: push.quiet_hours,
        enabled: journey.enabled,
        created_by: journey.created_by,
        created_at: journey.created_at,
        updated_at: journey.updated_at,
        counts: push.counts,
    })
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<JourneyView>, PushError> {
    let rows = journeys::Entity::find()
        .order_by_asc(journeys::Column::Slug)
        .all(db)
        .await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        views.push(view(db, row).await?);
    }
    Ok(views)
}

/// Checks what the database must know of a journey: its condition's rule, a pre-announcement's campaign and
/// segment.
async fn check(
    db: &DatabaseConnection,
    settings: &Settings,
    input: &JourneyInput,
    now: DateTime<Utc>,
) -> Result<(), PushError> {
    if !crate::calendar::is_slug(&input.slug) || input.slug.len() > 56 {
        return Err(PushError::Invalid {
            field: "slug".into(),
            message: "2-56 of a-z, 0-9 and '-'".into(),
        });
    }
    if input.delay_minutes > 10_080 {
        return Err(PushError::Invalid {
            field: "delay_minutes".into(),
            message: "0 to 10,080 (a week)".into(),
        });
    }
    input
        .trigger
        .check(&settings.behaviour.content_categories)?;
    if input.channel == Channel::Mass {
        return Err(PushError::Invalid {
            field: "channel".into(),
            message:
                "a journey sends to one customer at a time: subscribe, template or customer_service"
                    .into(),
        });
    }
    if let Some(rule) = &input.condition {
        segments::compile::compile(db, rule, &RuleContext::new(settings, now))
            .await
            .map_err(segments::SegmentError::from)?;
    }
    if let Trigger::PreAnnouncement {
        campaign, segment, ..
    } = &input.trigger
    {
        if gate::find_campaign(db, campaign).await?.is_none() {
            return Err(PushError::Invalid {
                field: "trigger.campaign".into(),
                message: format!("no campaign is named `{campaign}`"),
            });
        }
        segments::saved::find(db, segment).await?;
    }
    Ok(())
}

/// Saves a journey, off until a community manager turns it on.
pub async fn create(
    db: &DatabaseConnection,
    settings: &Settings,
    actor: &Actor,
    input: &JourneyInput,
    now: DateTime<Utc>,
) -> Result<JourneyView, PushError> {
    check(db, settings, input, now).await?;
    let txn = crate::db::begin_write(db).await?;
    let push = push::saved::create_journey_push(
        &txn,
        actor,
        input.trigger.variables(),
        &PushInput {
            slug: format!("journey-{}", input.slug),
            name: input.name.clone(),
            channel: input.channel,
            segment: String::new(),
            variants: input.variants.clone(),
            quiet_hours: input.quiet_hours,
        },
        now,
    )
    .await?;
    let row = journeys::ActiveModel {
        slug: Set(input.slug.clone()),
        name: Set(input.name.trim().to_owned()),
        trigger: Set(json!(input.trigger)),
        condition: Set(input.condition.clone()),
        delay_minutes: Set(input.delay_minutes as i32),
        push_id: Set(push.id),
        enabled: Set(false),
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
        audit::Entry::new("journey.create", "journey", view.slug.clone()).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// Turns a journey on or off; off, what it has queued or held is skipped as `journey_off`.
pub async fn set_enabled(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<JourneyView, PushError> {
    let txn = crate::db::begin_write(db).await?;
    let journey = find(&txn, slug).await?;
    let push_id = journey.push_id;
    let mut row: journeys::ActiveModel = journey.into();
    row.enabled = Set(enabled);
    row.updated_at = Set(now);
    let journey = row.update(&txn).await?;
    if !enabled {
        push::saved::skip_pending(&txn, push_id, "journey_off").await?;
    }
    let view = view(&txn, journey).await?;
    let action = if enabled {
        "journey.enable"
    } else {
        "journey.disable"
    };
    audit::record(
        &txn,
        actor,
        audit::Entry::new(action, "journey", slug.to_owned()).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// Pushes not yet sent and journeys (a pre-announcement's segment) that name a segment: registered with the
/// segments so one is not removed from under them.
pub struct SegmentUse;

#[async_trait::async_trait]
impl segments::saved::SegmentUsers for SegmentUse {
    async fn using(
        &self,
        conn: &sea_orm::DatabaseTransaction,
        slug: &str,
    ) -> Result<Vec<String>, sea_orm::DbErr> {
        let mut using: Vec<String> = push::saved::naming_segment(conn, slug)
            .await?
            .into_iter()
            .map(|push| format!("push {push}"))
            .collect();
        for journey in journeys::Entity::find().all(conn).await? {
            if let Some(Trigger::PreAnnouncement { segment, .. }) = trigger(&journey) {
                if segment == slug {
                    using.push(format!("journey {}", journey.slug));
                }
            }
        }
        Ok(using)
    }
}
