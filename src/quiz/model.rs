//! A campaign's quiz as play sees it, its errors, and the views of an attempt.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::Serialize;
use serde_json::Value;

use super::levels::{LevelConfig, QuizConfig};
use crate::calendar::{is_live, read_config, ActivityKind};
use crate::campaigns::gate::{self, GateError};
use crate::entities::{activities, campaigns};
use crate::error::{AppError, ErrorCode};
use crate::rewards::RewardError;
use crate::store::StoreError;

/// The store keeps an attempt this long past its expiry: answers then get `attempt_finished` or
/// `attempt_expired` rather than `attempt_not_found`, and a result write that failed can still be finished.
pub(super) const RETAIN_AFTER_EXPIRY: Duration = Duration::from_secs(3600);
/// Long enough for a campaign's full rebuild; a holder that dies frees it by then.
pub(super) const REBUILD_LOCK_TTL: Duration = Duration::from_secs(60);
/// The most entries a leaderboard page shows.
pub const MAX_BOARD_TOP: u32 = 100;
pub(super) const LABELS: [char; 6] = ['A', 'B', 'C', 'D', 'E', 'F'];

#[derive(Debug, thiserror::Error)]
pub enum QuizError {
    #[error("this campaign has no quiz")]
    NotFound,
    #[error("no such level")]
    LevelNotFound,
    #[error("no such attempt")]
    AttemptNotFound,
    #[error(transparent)]
    Gate(#[from] GateError),
    /// The store's atomic answer step saw the pause switch.
    #[error("the campaign is paused")]
    Paused,
    #[error("pass level {0} first")]
    Locked(u32),
    #[error("no attempts left today for this level ({0} a day)")]
    DailyLimit(u32),
    #[error("the quiz is misconfigured: {0}")]
    Misconfigured(String),
    #[error("the attempt's time is up")]
    Expired,
    #[error("the attempt is over: every question has been answered")]
    Finished,
    #[error("question {0} has been answered already")]
    AlreadyAnswered(u32),
    #[error("that is not the current question: answer question {0}")]
    NotCurrent(u32),
    #[error("choose one of the options on offer (one for a single-choice question)")]
    InvalidOption,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for QuizError {
    fn from(error: DbErr) -> Self {
        QuizError::Unexpected(error.into())
    }
}

impl From<RewardError> for QuizError {
    fn from(error: RewardError) -> Self {
        QuizError::Unexpected(anyhow::Error::new(error).context("granting a level's rewards"))
    }
}

impl From<QuizError> for AppError {
    fn from(error: QuizError) -> Self {
        let message = error.to_string();
        match error {
            QuizError::NotFound => AppError::new(ErrorCode::QuizNotFound, message),
            QuizError::LevelNotFound => AppError::new(ErrorCode::LevelNotFound, message),
            QuizError::AttemptNotFound => AppError::new(ErrorCode::AttemptNotFound, message),
            QuizError::Gate(e) => e.into(),
            QuizError::Paused => AppError::new(ErrorCode::CampaignPaused, message),
            QuizError::Locked(_) => AppError::new(ErrorCode::LevelLocked, message),
            QuizError::DailyLimit(_) => AppError::new(ErrorCode::DailyLimitReached, message),
            QuizError::Misconfigured(problem) => {
                // The detail is for operators (in the log), not for customers.
                tracing::error!(%problem, "quiz misconfigured");
                AppError::new(
                    ErrorCode::QuizUnavailable,
                    "the quiz cannot be played now; please try again later",
                )
            }
            QuizError::Expired => AppError::new(ErrorCode::AttemptExpired, message),
            QuizError::Finished => AppError::new(ErrorCode::AttemptFinished, message),
            QuizError::AlreadyAnswered(_) => AppError::new(ErrorCode::AlreadyAnswered, message),
            QuizError::NotCurrent(_) => AppError::new(ErrorCode::NotCurrentQuestion, message),
            QuizError::InvalidOption => AppError::new(ErrorCode::InvalidOption, message),
            QuizError::Store(e) => e.into(),
            QuizError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

/// A campaign's quiz: its activity row and parsed config.
pub(super) struct Quiz {
    pub(super) campaign: campaigns::Model,
    pub(super) activity: activities::Model,
    pub(super) config: QuizConfig,
}

impl Quiz {
    pub(super) fn level(&self, number: u32) -> Result<&LevelConfig, QuizError> {
        self.config.level(number).ok_or(QuizError::LevelNotFound)
    }

    /// For showing progress; actions go through the gate.
    pub(super) fn is_open(&self, now: DateTime<Utc>) -> bool {
        is_live(&self.campaign, now) && gate::activity_open(&self.activity, now)
    }
}

pub(super) async fn load(
    conn: &impl ConnectionTrait,
    campaign_slug: &str,
) -> Result<Quiz, QuizError> {
    let campaign = gate::find_campaign(conn, campaign_slug)
        .await?
        .ok_or(QuizError::NotFound)?;
    load_activity(conn, campaign).await
}

pub(super) async fn load_activity(
    conn: &impl ConnectionTrait,
    campaign: campaigns::Model,
) -> Result<Quiz, QuizError> {
    let activity = activities::Entity::find()
        .filter(activities::Column::CampaignId.eq(campaign.id))
        .filter(activities::Column::Kind.eq(ActivityKind::Quiz.as_str()))
        .one(conn)
        .await?
        .ok_or(QuizError::NotFound)?;
    let config = read_config::<QuizConfig>(&activity.config).map_err(QuizError::Misconfigured)?;
    Ok(Quiz {
        campaign,
        activity,
        config,
    })
}

/// Status names of `quiz_attempts`.
pub(super) mod status {
    pub const ACTIVE: &str = "active";
    pub const PASSED: &str = "passed";
    pub const FAILED: &str = "failed";
    pub const EXPIRED: &str = "expired";
    pub const LOST: &str = "lost";
}

/// An attempt as the customer sees it while playing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    pub attempt_id: String,
    /// The attempt was already in play (a start repeated, or the app reopened).
    pub resumed: bool,
    pub level: u32,
    pub status: String,
    pub questions: u32,
    pub seconds_per_question: u32,
    pub expires_at: String,
    /// The question to answer now (never with its answer), while the attempt is active.
    pub question: Option<Value>,
    /// Answer the current question by then, or it counts as wrong.
    pub answer_by: Option<String>,
    pub result: Option<AttemptResult>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttemptResult {
    pub score: u32,
    pub pass_score: u32,
    pub passed: bool,
    pub total_ms: i64,
    /// Some answer came implausibly fast: the attempt counts, but not on the leaderboard.
    pub flagged: bool,
    pub points: i64,
    pub chances: u32,
}

pub(super) fn millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

pub(super) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
