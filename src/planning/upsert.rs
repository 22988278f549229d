//! Applying a calendar file: a dry-run diff, then an idempotent upsert by slug.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;

use super::edit::{apply_replacement, insert, only_safe_fields_differ};
use super::import::{self, Calendar, FieldError, ValidCampaign};
use super::rows::check_overlap;
use crate::audit::{self, Actor};
use crate::calendar::status_at;
use crate::campaigns::gate::find_campaign as find;
use crate::campaigns::model::{view_of, CampaignError};
use crate::coupons::service::{self as coupons, CouponError, Ensured};
use crate::entities::campaigns;

/// One line of an import's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Change {
    Create(String),
    Update(String),
    Unchanged(String),
    CreateTemplate(String),
    UnchangedTemplate(String),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Create(slug) => write!(f, "+ create {slug}"),
            Change::Update(slug) => write!(f, "~ update {slug}"),
            Change::Unchanged(slug) => write!(f, "= unchanged {slug}"),
            Change::CreateTemplate(slug) => write!(f, "+ create coupon template {slug}"),
            Change::UnchangedTemplate(slug) => write!(f, "= unchanged coupon template {slug}"),
        }
    }
}

/// Pools and catalogue items arrive with a new campaign. For one that exists, a pool or item the file adds is
/// refused rather than silently skipped: it goes through the staff API, which also keeps live pools frozen.
pub(super) async fn refuse_new_offers(
    conn: &impl ConnectionTrait,
    stored: &campaigns::Model,
    campaign: &ValidCampaign,
    index: usize,
) -> Result<(), CampaignError> {
    use crate::entities::{catalogue_items, prize_pools};
    let pools: Vec<String> = prize_pools::Entity::find()
        .filter(prize_pools::Column::CampaignId.eq(stored.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| p.slug)
        .collect();
    let items: Vec<String> = catalogue_items::Entity::find()
        .filter(catalogue_items::Column::CampaignId.eq(stored.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|i| i.slug)
        .collect();
    let mut problems = Vec::new();
    for (i, pool) in campaign
        .pools
        .iter()
        .enumerate()
        .filter(|(_, p)| !pools.contains(&p.slug))
    {
        problems.push(FieldError {
            field: format!("campaigns[{index}].pools[{i}]"),
            message: format!("pool {} is new for an existing campaign: add it with POST /admin/v1/campaigns/{}/pools", pool.slug, stored.slug),
        });
    }
    for (i, item) in campaign
        .catalogue
        .iter()
        .enumerate()
        .filter(|(_, it)| !items.contains(&it.slug))
    {
        problems.push(FieldError {
            field: format!("campaigns[{index}].catalogue[{i}]"),
            message: format!("item {} is new for an existing campaign: add it with POST /admin/v1/campaigns/{}/catalogue", item.slug, stored.slug),
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CampaignError::Invalid(problems))
    }
}

/// Plans (and with `apply`, performs) the calendar's coupon templates (created when missing) and an upsert by
/// slug of every campaign, in one transaction: any error and nothing is applied. Imported campaigns are
/// scheduled: the calendar is the published plan.
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    calendar: &Calendar,
    apply: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Change>, CampaignError> {
    let inputs = &calendar.campaigns;
    let mut valid = Vec::new();
    let mut errors = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        match import::validate(input) {
            Ok(campaign) => valid.push(campaign),
            Err(found) => errors.extend(found.into_iter().map(|e| FieldError {
                field: format!("campaigns[{i}].{}", e.field),
                message: e.message,
            })),
        }
    }
    if !errors.is_empty() {
        return Err(CampaignError::Invalid(errors));
    }
    let txn = crate::db::begin_write(db).await?;
    let mut changes = Vec::new();
    // Templates first: the pools and catalogue items below name them.
    for (i, template) in calendar.coupon_templates.iter().enumerate() {
        let ensured = coupons::ensure_template(&txn, actor, template, now)
            .await
            .map_err(|error| match error {
                CouponError::Invalid(message) => CampaignError::Invalid(vec![FieldError {
                    field: format!("coupon_templates[{i}]"),
                    message,
                }]),
                other => CampaignError::Unexpected(anyhow::Error::new(other)),
            })?;
        changes.push(match ensured {
            Ensured::Created => Change::CreateTemplate(template.slug.clone()),
            Ensured::Unchanged => Change::UnchangedTemplate(template.slug.clone()),
        });
    }
    for (index, campaign) in valid.iter().enumerate() {
        let change = match find(&txn, &campaign.slug).await? {
            None => {
                check_overlap(&txn, campaign).await?;
                let status = status_at(
                    campaign.preheat_at,
                    campaign.starts_at,
                    campaign.ends_at,
                    now,
                );
                let view = insert(&txn, &actor.label, campaign, status).await?;
                audit::record(
                    &txn,
                    actor,
                    audit::Entry::new("campaign.import", "campaign", campaign.slug.clone())
                        .after(&view),
                )
                .await?;
                Change::Create(campaign.slug.clone())
            }
            Some(stored) => {
                refuse_new_offers(&txn, &stored, campaign, index).await?;
                let before = view_of(&txn, &stored).await?;
                let same = only_safe_fields_differ(&before, campaign)
                    && before.name == campaign.name
                    && before.theme == campaign.theme;
                if same {
                    Change::Unchanged(campaign.slug.clone())
                } else {
                    let after = apply_replacement(&txn, stored, &before, campaign).await?;
                    audit::record(
                        &txn,
                        actor,
                        audit::Entry::new("campaign.import", "campaign", campaign.slug.clone())
                            .before(&before)
                            .after(&after),
                    )
                    .await?;
                    Change::Update(campaign.slug.clone())
                }
            }
        };
        changes.push(change);
    }
    if apply {
        txn.commit().await?;
    } else {
        txn.rollback().await?;
    }
    Ok(changes)
}
