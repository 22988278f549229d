//! Staff edits: create a draft, replace it (only safe fields once live), schedule it.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set};

use super::import::{CampaignInput, FieldError, ValidCampaign};
use super::rows::{check_overlap, replace_activities, set_fields, validated};
use crate::audit::{self, Actor};
use crate::calendar::Status;
use crate::campaigns::gate::find_campaign as find;
use crate::campaigns::model::{view_of, CampaignError, CampaignView};
use crate::entities::{activities, campaigns};

/// Creates a draft.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &CampaignInput,
) -> Result<CampaignView, CampaignError> {
    let campaign = validated(input)?;
    let txn = crate::db::begin_write(db).await?;
    if find(&txn, &campaign.slug).await?.is_some() {
        return Err(CampaignError::SlugTaken);
    }
    check_overlap(&txn, &campaign).await?;
    let view = insert(&txn, &actor.label, &campaign, Status::Draft).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("campaign.create", "campaign", campaign.slug.clone()).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

pub(super) async fn insert(
    conn: &impl ConnectionTrait,
    created_by: &str,
    campaign: &ValidCampaign,
    status: Status,
) -> Result<CampaignView, CampaignError> {
    let now = Utc::now();
    let mut active = campaigns::ActiveModel {
        slug: Set(campaign.slug.clone()),
        status: Set(status.as_str().to_owned()),
        paused: Set(false),
        paused_reason: Set(None),
        created_by: Set(created_by.to_owned()),
        created_at: Set(now),
        ..Default::default()
    };
    set_fields(&mut active, campaign);
    let stored = active.insert(conn).await?;
    replace_activities(conn, stored.id, campaign).await?;
    // What only the database can check (a named coupon template exists) is refused as bad input, by field.
    let refused = |field: String, message: String| {
        CampaignError::Invalid(vec![FieldError { field, message }])
    };
    for (i, pool) in campaign.pools.iter().enumerate() {
        crate::lottery::service::insert_pool(conn, &stored, pool)
            .await
            .map_err(|e| match e {
                crate::lottery::service::LotteryError::Invalid(message) => {
                    refused(format!("pools[{i}]"), message)
                }
                other => CampaignError::Unexpected(anyhow::anyhow!("pool {}: {other}", pool.slug)),
            })?;
    }
    for (i, item) in campaign.catalogue.iter().enumerate() {
        crate::points::catalogue::insert_item(conn, &stored, item)
            .await
            .map_err(|e| match e {
                crate::points::catalogue::RedeemError::Invalid(message) => {
                    refused(format!("catalogue[{i}]"), message)
                }
                other => CampaignError::Unexpected(anyhow::anyhow!(
                    "catalogue item {}: {other}",
                    item.slug
                )),
            })?;
    }
    Ok(view_of(conn, &stored).await?)
}

/// A live campaign's published terms are frozen: only what customers cannot rely on (name, theme) may change.
pub(super) fn only_safe_fields_differ(stored: &CampaignView, campaign: &ValidCampaign) -> bool {
    let incoming = CampaignView::new(
        &campaigns::Model {
            id: 0,
            slug: campaign.slug.clone(),
            name: stored.name.clone(),
            theme: stored.theme.clone(),
            year: campaign.year,
            quarter: campaign.quarter,
            preheat_at: campaign.preheat_at,
            starts_at: campaign.starts_at,
            ends_at: campaign.ends_at,
            status: stored.status.clone(),
            paused: stored.paused,
            paused_reason: stored.paused_reason.clone(),
            rules_text: campaign.rules_text.clone(),
            prize_summary: campaign.prize_summary.clone(),
            created_by: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        },
        &campaign
            .activities
            .iter()
            .enumerate()
            .map(|(i, a)| activities::Model {
                id: 0,
                campaign_id: 0,
                slug: a.slug.clone(),
                kind: a.kind.as_str().to_owned(),
                name: a.name.clone(),
                starts_at: a.starts_at,
                ends_at: a.ends_at,
                config: a.config.clone(),
                position: i as i32,
            })
            .collect::<Vec<_>>(),
    );
    serde_json::to_value(&incoming).ok() == serde_json::to_value(stored).ok()
}

/// Replaces a campaign (and its activities); a live one only in its safe fields.
pub async fn replace(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    input: &CampaignInput,
) -> Result<CampaignView, CampaignError> {
    if input.slug != slug {
        return Err(CampaignError::Invalid(vec![FieldError {
            field: "slug".into(),
            message: "does not match the URL".into(),
        }]));
    }
    let campaign = validated(input)?;
    let txn = crate::db::begin_write(db).await?;
    let stored = find(&txn, slug).await?.ok_or(CampaignError::NotFound)?;
    let before = view_of(&txn, &stored).await?;
    let after = apply_replacement(&txn, stored, &before, &campaign).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("campaign.update", "campaign", slug.to_owned())
            .before(&before)
            .after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

pub(super) async fn apply_replacement(
    conn: &impl ConnectionTrait,
    stored: campaigns::Model,
    before: &CampaignView,
    campaign: &ValidCampaign,
) -> Result<CampaignView, CampaignError> {
    let live = stored.status == Status::Live.as_str();
    if live && !only_safe_fields_differ(before, campaign) {
        return Err(CampaignError::Live);
    }
    if stored.status == Status::Ended.as_str() {
        return Err(CampaignError::Transition(
            "an ended campaign is part of the record and cannot change".into(),
        ));
    }
    check_overlap(conn, campaign).await?;
    let id = stored.id;
    let mut active: campaigns::ActiveModel = stored.into();
    set_fields(&mut active, campaign);
    let updated = active.update(conn).await?;
    if !live {
        replace_activities(conn, id, campaign).await?;
    }
    Ok(view_of(conn, &updated).await?)
}

/// Draft -> scheduled: from now on the clock moves it (to preheat, live, ended).
pub async fn schedule(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<CampaignView, CampaignError> {
    let txn = crate::db::begin_write(db).await?;
    let stored = find(&txn, slug).await?.ok_or(CampaignError::NotFound)?;
    if stored.status != Status::Draft.as_str() {
        return Err(CampaignError::Transition(format!(
            "only a draft can be scheduled; this one is {}",
            stored.status
        )));
    }
    if stored.ends_at <= now {
        return Err(CampaignError::Transition(
            "the campaign's window is already over".into(),
        ));
    }
    let before = view_of(&txn, &stored).await?;
    let mut active: campaigns::ActiveModel = stored.into();
    active.status = Set(Status::Scheduled.as_str().to_owned());
    active.updated_at = Set(Utc::now());
    let after = view_of(&txn, &active.update(&txn).await?).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("campaign.schedule", "campaign", slug.to_owned())
            .before(&before)
            .after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}
