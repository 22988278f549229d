//! A referral activity's rules, the codes customers invite with, and what can go wrong.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use crate::entities::referral_codes;
use crate::error::{AppError, ErrorCode};
use crate::rewards::{RewardError, RewardSpec};
use crate::wechat::client::WeChatError;

/// A referral activity's config: the milestone (friends credited while it is open) and what it pays.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralConfig {
    pub invites_required: u32,
    /// Paid to the inviter once, at the `invites_required`-th friend credited in the activity.
    pub reward: RewardSpec,
}

impl ReferralConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(1..=50).contains(&self.invites_required) {
            return Err("invites_required must be between 1 and 50".into());
        }
        self.reward.check("reward")
    }
}

/// How a referee came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A first mini-program login through a shared path (`?inviter=CODE`).
    MiniProgram,
    /// A first follow of the official account through the inviter's QR code (`qrscene_inv_CODE`).
    OfficialAccount,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::MiniProgram => "mini_program",
            Channel::OfficialAccount => "official_account",
        }
    }
}

/// The QR scene of an inviter's code: `inv_<code>`; WeChat sends it back as `qrscene_inv_<code>`.
pub const SCENE_PREFIX: &str = "inv_";

#[derive(Debug, thiserror::Error)]
pub enum ReferralError {
    #[error("another request is making this QR code; try again")]
    Busy,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Reward(#[from] RewardError),
    #[error(transparent)]
    WeChat(#[from] WeChatError),
    #[error("the referral activity is misconfigured: {0}")]
    Misconfigured(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for ReferralError {
    fn from(error: DbErr) -> Self {
        ReferralError::Unexpected(error.into())
    }
}

impl From<ReferralError> for AppError {
    fn from(error: ReferralError) -> Self {
        let message = error.to_string();
        match error {
            ReferralError::Busy => AppError::new(ErrorCode::ConcurrentRequest, message),
            ReferralError::Store(e) => e.into(),
            ReferralError::Reward(e) => e.into(),
            ReferralError::WeChat(e) => e.into(),
            ReferralError::Misconfigured(_) => AppError::unexpected(anyhow::anyhow!(message)),
            ReferralError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

/// The inviter behind a code: its one finder.
pub(super) async fn code_owner(
    conn: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<referral_codes::Model>, DbErr> {
    referral_codes::Entity::find()
        .filter(referral_codes::Column::Code.eq(code))
        .one(conn)
        .await
}
