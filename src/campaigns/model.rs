//! Campaigns as staff see them, their errors, and the shared steps of writing one.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::calendar::shanghai;
use crate::calendar::FieldError;
use crate::entities::{activities, campaigns};
use crate::error::{AppError, ErrorCode};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("campaign is invalid")]
    Invalid(Vec<FieldError>),
    #[error("the live window overlaps campaign {0}")]
    Overlap(String),
    #[error("a live campaign accepts edits to its name and theme only; its rules, prizes, windows and activities are frozen")]
    Live,
    #[error("{0}")]
    Transition(String),
    #[error("no such campaign")]
    NotFound,
    #[error("a campaign with this slug exists")]
    SlugTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for CampaignError {
    fn from(error: DbErr) -> Self {
        CampaignError::Unexpected(error.into())
    }
}

impl From<CampaignError> for AppError {
    fn from(error: CampaignError) -> Self {
        let message = error.to_string();
        match error {
            CampaignError::Invalid(errors) => {
                let listed = errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                let first = errors.first().map(|e| e.field.clone()).unwrap_or_default();
                AppError::new(ErrorCode::InvalidCampaign, listed).with_field(first)
            }
            CampaignError::Overlap(_) => AppError::new(ErrorCode::WindowOverlap, message),
            CampaignError::Live => AppError::new(ErrorCode::CampaignLive, message),
            CampaignError::Transition(_) => AppError::new(ErrorCode::InvalidTransition, message),
            CampaignError::NotFound => AppError::new(ErrorCode::CampaignNotFound, message),
            CampaignError::SlugTaken => AppError::new(ErrorCode::SlugTaken, message),
            CampaignError::Store(e) => e.into(),
            CampaignError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

/// A campaign as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub slug: String,
    pub name: String,
    pub theme: String,
    pub year: i32,
    pub quarter: i16,
    pub preheat_at: String,
    pub starts_at: String,
    pub ends_at: String,
    pub status: String,
    pub paused: bool,
    pub paused_reason: Option<String>,
    pub rules_text: String,
    pub prize_summary: String,
    pub activities: Vec<ActivityView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActivityView {
    pub slug: String,
    pub kind: String,
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
    pub config: serde_json::Value,
}

impl CampaignView {
    pub(crate) fn new(campaign: &campaigns::Model, activities: &[activities::Model]) -> Self {
        Self {
            slug: campaign.slug.clone(),
            name: campaign.name.clone(),
            theme: campaign.theme.clone(),
            year: campaign.year,
            quarter: campaign.quarter,
            preheat_at: shanghai(campaign.preheat_at),
            starts_at: shanghai(campaign.starts_at),
            ends_at: shanghai(campaign.ends_at),
            status: campaign.status.clone(),
            paused: campaign.paused,
            paused_reason: campaign.paused_reason.clone(),
            rules_text: campaign.rules_text.clone(),
            prize_summary: campaign.prize_summary.clone(),
            activities: activities
                .iter()
                .map(|a| ActivityView {
                    slug: a.slug.clone(),
                    kind: a.kind.clone(),
                    name: a.name.clone(),
                    starts_at: shanghai(a.starts_at),
                    ends_at: shanghai(a.ends_at),
                    config: a.config.clone(),
                })
                .collect(),
        }
    }
}

pub async fn activities_of(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
) -> Result<Vec<activities::Model>, DbErr> {
    activities::Entity::find()
        .filter(activities::Column::CampaignId.eq(campaign.id))
        .order_by_asc(activities::Column::Position)
        .all(conn)
        .await
}

pub async fn view_of(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
) -> Result<CampaignView, DbErr> {
    Ok(CampaignView::new(
        campaign,
        &activities_of(conn, campaign).await?,
    ))
}
