//! A poster activity's template (its config in the calendar) and what can go wrong.

use serde::{Deserialize, Serialize};

use crate::campaigns::gate::GateError;
use crate::error::{AppError, ErrorCode};
use crate::referrals::service::ReferralError;
use crate::rewards::{RewardError, RewardSpec};
use crate::wechat::client::WeChatError;

/// The longest text a customer may put on a poster (a wish, a plan's summary), in characters.
pub const MAX_TEXT_CHARS: usize = 60;

/// What a poster's QR code carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QrKind {
    /// The poster's own H5 share page.
    #[default]
    Page,
    /// The maker's official-account invite QR code: a first follow through it credits them as a referral.
    OfficialAccount,
}

/// A poster activity's config: the template's name, size, colours and text, what its QR code carries, and the
/// reward for making one (once a day; never for sharing it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PosterConfig {
    pub template: String,
    #[serde(default = "default_width")]
    pub width: u32,
    #[serde(default = "default_height")]
    pub height: u32,
    /// `#rrggbb`
    #[serde(default = "default_background")]
    pub background: String,
    #[serde(default = "default_ink")]
    pub ink: String,
    /// Printed at the top.
    #[serde(default)]
    pub title: String,
    /// Printed under the customer's text.
    #[serde(default)]
    pub footer: String,
    #[serde(default)]
    pub qr: QrKind,
    #[serde(default)]
    pub reward: Option<RewardSpec>,
}

fn default_width() -> u32 {
    750
}

fn default_height() -> u32 {
    1200
}

fn default_background() -> String {
    "#b71c1c".into()
}

fn default_ink() -> String {
    "#fff8e1".into()
}

/// `#rrggbb` as RGB.
pub fn colour(text: &str) -> Option<[u8; 3]> {
    let hex = text.strip_prefix('#').filter(|h| h.len() == 6)?;
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

impl PosterConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.template.trim().is_empty() {
            return Err("template must not be empty".into());
        }
        if !(300..=1500).contains(&self.width) || !(400..=2700).contains(&self.height) {
            return Err("width must be 300-1500 and height 400-2700 pixels".into());
        }
        // The QR code takes a third of the width at the bottom, under the title and text: a card shorter than
        // 4:3 would clip it.
        if self.height * 3 < self.width * 4 {
            return Err("height must be at least 4/3 of the width".into());
        }
        if colour(&self.background).is_none() || colour(&self.ink).is_none() {
            return Err("background and ink must be #rrggbb colours".into());
        }
        if self.title.chars().count() > 20 || self.footer.chars().count() > 40 {
            return Err("title: at most 20 characters; footer: at most 40".into());
        }
        match &self.reward {
            Some(reward) => reward.check("reward"),
            None => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error("this activity is not a poster activity")]
    NotAPosterActivity,
    #[error("no such poster")]
    NotFound,
    #[error("text: 1 to {MAX_TEXT_CHARS} characters on one line")]
    InvalidText,
    #[error("this text did not pass WeChat's content check; please write another")]
    ContentRejected,
    #[error("the text can be checked only for a customer of the mini-program; write it there")]
    ContentUnchecked,
    #[error(transparent)]
    WeChat(#[from] WeChatError),
    #[error(transparent)]
    Referral(#[from] ReferralError),
    #[error(transparent)]
    Reward(#[from] RewardError),
    #[error("the poster activity is misconfigured: {0}")]
    Misconfigured(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for PosterError {
    fn from(error: sea_orm::DbErr) -> Self {
        PosterError::Unexpected(error.into())
    }
}

impl From<PosterError> for AppError {
    fn from(error: PosterError) -> Self {
        let message = error.to_string();
        let code = match error {
            PosterError::Gate(e) => return e.into(),
            PosterError::WeChat(e) => return e.into(),
            PosterError::Referral(e) => return e.into(),
            PosterError::Reward(e) => return e.into(),
            PosterError::Unexpected(e) => return AppError::unexpected(e),
            PosterError::Misconfigured(_) => return AppError::unexpected(anyhow::anyhow!(message)),
            PosterError::NotAPosterActivity => ErrorCode::ActivityNotFound,
            PosterError::NotFound => ErrorCode::PosterNotFound,
            PosterError::InvalidText => {
                return AppError::new(ErrorCode::InvalidInput, message).with_field("text")
            }
            PosterError::ContentRejected => ErrorCode::ContentRejected,
            PosterError::ContentUnchecked => ErrorCode::ContentUnchecked,
        };
        AppError::new(code, message)
    }
}
