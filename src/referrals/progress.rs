//! What an inviter sees: their code, the path to share, and how far the open referral activity's milestone is.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Serialize;

use super::codes::code_of;
use super::credit::{credited_in, open_activity};
use super::model::ReferralError;
use crate::entities::referrals;
use crate::rewards::RewardSpec;
use crate::state::Context;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralProgress {
    /// The invite code, carried by the share path and the QR code.
    pub code: String,
    /// The mini-program path a share opens: a new customer's first login through it credits this customer.
    pub share_path: String,
    /// Friends credited to this customer, ever.
    pub credited_total: u64,
    /// The referral activity open now, if any.
    pub activity: Option<ActivityProgress>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActivityProgress {
    pub campaign: String,
    pub activity: String,
    pub name: String,
    pub invites_required: u32,
    /// Friends credited while this activity is open.
    pub credited: u64,
    /// The milestone reached: its reward was paid.
    pub reached: bool,
    pub reward: RewardSpec,
}

pub async fn progress(cx: Context<'_>, user_id: i64) -> Result<ReferralProgress, ReferralError> {
    let Context { db, store, now } = cx;
    let code = code_of(db, user_id, now).await?;
    let credited_total = referrals::Entity::find()
        .filter(referrals::Column::InviterId.eq(user_id))
        .count(db)
        .await?;
    let activity = match open_activity(db, store, now).await? {
        Some((activity, campaign, config)) => {
            let credited = credited_in(db, user_id, activity.id).await?;
            Some(ActivityProgress {
                campaign: campaign.slug,
                activity: activity.slug,
                name: activity.name,
                invites_required: config.invites_required,
                credited,
                reached: credited >= u64::from(config.invites_required),
                reward: config.reward,
            })
        }
        None => None,
    };
    Ok(ReferralProgress {
        share_path: format!("/pages/home/index?inviter={}", code.code),
        code: code.code,
        credited_total,
        activity,
    })
}
