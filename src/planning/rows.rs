//! Writing a checked campaign: its fields, its activities, and the rule that live windows do not overlap.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

use super::import::{self, CampaignInput, ValidCampaign};
use crate::campaigns::model::CampaignError;
use crate::entities::{activities, campaigns};

/// Live windows of two campaigns may not overlap (preheats may).
pub(super) async fn check_overlap(
    conn: &impl ConnectionTrait,
    campaign: &ValidCampaign,
) -> Result<(), CampaignError> {
    let clash = campaigns::Entity::find()
        .filter(campaigns::Column::Slug.ne(campaign.slug.as_str()))
        .filter(campaigns::Column::StartsAt.lt(campaign.ends_at))
        .filter(campaigns::Column::EndsAt.gt(campaign.starts_at))
        .one(conn)
        .await?;
    match clash {
        Some(other) => Err(CampaignError::Overlap(other.slug)),
        None => Ok(()),
    }
}

pub(super) fn validated(input: &CampaignInput) -> Result<ValidCampaign, CampaignError> {
    import::validate(input).map_err(CampaignError::Invalid)
}

pub(super) async fn replace_activities(
    conn: &impl ConnectionTrait,
    campaign_id: i64,
    campaign: &ValidCampaign,
) -> Result<(), DbErr> {
    activities::Entity::delete_many()
        .filter(activities::Column::CampaignId.eq(campaign_id))
        .exec(conn)
        .await?;
    for (position, activity) in campaign.activities.iter().enumerate() {
        activities::ActiveModel {
            campaign_id: Set(campaign_id),
            slug: Set(activity.slug.clone()),
            kind: Set(activity.kind.as_str().to_owned()),
            name: Set(activity.name.clone()),
            starts_at: Set(activity.starts_at),
            ends_at: Set(activity.ends_at),
            config: Set(activity.config.clone()),
            position: Set(position as i32),
            ..Default::default()
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

pub(super) fn set_fields(active: &mut campaigns::ActiveModel, campaign: &ValidCampaign) {
    active.name = Set(campaign.name.clone());
    active.theme = Set(campaign.theme.clone());
    active.year = Set(campaign.year);
    active.quarter = Set(campaign.quarter);
    active.preheat_at = Set(campaign.preheat_at);
    active.starts_at = Set(campaign.starts_at);
    active.ends_at = Set(campaign.ends_at);
    active.rules_text = Set(campaign.rules_text.clone());
    active.prize_summary = Set(campaign.prize_summary.clone());
    active.updated_at = Set(Utc::now());
}
