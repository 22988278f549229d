//! What staff list and what customers see of the calendar.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::gate::find_campaign as find;
use super::model::{view_of, ActivityView, CampaignError, CampaignView};
use crate::calendar::{shanghai, status_at, Status};
use crate::entities::campaigns;

pub async fn list(db: &DatabaseConnection) -> Result<Vec<CampaignView>, CampaignError> {
    let mut views = Vec::new();
    for campaign in campaigns::Entity::find()
        .order_by_asc(campaigns::Column::StartsAt)
        .all(db)
        .await?
    {
        views.push(view_of(db, &campaign).await?);
    }
    Ok(views)
}

pub async fn detail(db: &DatabaseConnection, slug: &str) -> Result<CampaignView, CampaignError> {
    let campaign = find(db, slug).await?.ok_or(CampaignError::NotFound)?;
    Ok(view_of(db, &campaign).await?)
}

/// What customers see of a campaign: never drafts; the status as of now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicCampaign {
    pub slug: String,
    pub name: String,
    pub theme: String,
    pub quarter: i16,
    pub status: Status,
    pub paused: bool,
    pub preheat_at: String,
    pub starts_at: String,
    pub ends_at: String,
    /// Seconds until it starts (0 once started) and until it ends (0 once ended).
    pub starts_in_secs: i64,
    pub ends_in_secs: i64,
}

pub(super) fn public(campaign: &campaigns::Model, now: DateTime<Utc>) -> PublicCampaign {
    PublicCampaign {
        slug: campaign.slug.clone(),
        name: campaign.name.clone(),
        theme: campaign.theme.clone(),
        quarter: campaign.quarter,
        status: status_at(
            campaign.preheat_at,
            campaign.starts_at,
            campaign.ends_at,
            now,
        ),
        paused: campaign.paused,
        preheat_at: shanghai(campaign.preheat_at),
        starts_at: shanghai(campaign.starts_at),
        ends_at: shanghai(campaign.ends_at),
        starts_in_secs: (campaign.starts_at - now).num_seconds().max(0),
        ends_in_secs: (campaign.ends_at - now).num_seconds().max(0),
    }
}

/// Live and upcoming campaigns, soonest first.
pub async fn calendar(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Vec<PublicCampaign>, CampaignError> {
    Ok(campaigns::Entity::find()
        .filter(campaigns::Column::Status.ne(Status::Draft.as_str()))
        .filter(campaigns::Column::EndsAt.gt(now))
        .order_by_asc(campaigns::Column::StartsAt)
        .all(db)
        .await?
        .iter()
        .map(|c| public(c, now))
        .collect())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicCampaignDetail {
    #[serde(flatten)]
    pub campaign: PublicCampaign,
    pub rules_text: String,
    pub prize_summary: String,
    pub activities: Vec<ActivityView>,
}

pub async fn public_detail(
    db: &DatabaseConnection,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<PublicCampaignDetail, CampaignError> {
    let campaign = find(db, slug)
        .await?
        .filter(|c| c.status != Status::Draft.as_str())
        .ok_or(CampaignError::NotFound)?;
    let view = view_of(db, &campaign).await?;
    Ok(PublicCampaignDetail {
        campaign: public(&campaign, now),
        rules_text: view.rules_text,
        prize_summary: view.prize_summary,
        activities: view.activities,
    })
}
