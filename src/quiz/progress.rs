//! Each level's standing for a customer, and an attempt fetched back.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;

use super::answers::is_attempt_id;
use super::attempts::playing_view;
use super::finish::{finish, recorded_result};
use super::model::{load, status, AttemptView, QuizError};
use crate::calendar::shanghai;
use crate::entities::quiz_attempts;
use crate::state::Context;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LevelProgress {
    pub level: u32,
    pub name: String,
    pub questions: u32,
    pub seconds_per_question: u32,
    pub pass_score: u32,
    pub daily_attempts: u32,
    pub attempts_left_today: u32,
    pub unlocked: bool,
    pub passed: bool,
    pub best_score: Option<u32>,
    pub reward_points: u32,
    pub reward_chances: u32,
    /// The attempt in play, to resume.
    pub active_attempt: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub quiz: String,
    pub open: bool,
    pub levels: Vec<LevelProgress>,
}

pub async fn progress(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    user_id: i64,
    campaign_slug: &str,
) -> Result<Progress, QuizError> {
    let quiz = load(db, campaign_slug).await?;
    let mine = quiz_attempts::Entity::find()
        .filter(quiz_attempts::Column::UserId.eq(user_id))
        .filter(quiz_attempts::Column::ActivityId.eq(quiz.activity.id))
        .all(db)
        .await?;
    let today = crate::calendar::day_key(now);
    let mut levels = Vec::with_capacity(quiz.config.levels.len());
    let mut previous_passed = true;
    for (i, level) in quiz.config.levels.iter().enumerate() {
        let number = i as i32 + 1;
        let of_level: Vec<&quiz_attempts::Model> =
            mine.iter().filter(|r| r.level == number).collect();
        let passed = of_level.iter().any(|r| r.status == status::PASSED);
        let used = of_level
            .iter()
            .filter(|r| r.day == today && r.status != status::LOST)
            .count() as u32;
        let active = of_level
            .iter()
            .find(|r| r.status == status::ACTIVE && r.expires_at > now)
            .map(|r| r.id.clone());
        levels.push(LevelProgress {
            level: number as u32,
            name: level.name.clone(),
            questions: level.questions,
            seconds_per_question: level.seconds_per_question,
            pass_score: level.pass_score,
            daily_attempts: level.daily_attempts,
            attempts_left_today: level.daily_attempts.saturating_sub(used),
            unlocked: i == 0 || !level.requires_previous || previous_passed,
            passed,
            best_score: of_level
                .iter()
                .filter_map(|r| r.score)
                .max()
                .map(|s| s as u32),
            reward_points: level.reward_points,
            reward_chances: level.reward_chances,
            active_attempt: active,
        });
        previous_passed = passed;
    }
    Ok(Progress {
        quiz: quiz.activity.name.clone(),
        open: quiz.is_open(now),
        levels,
    })
}

/// One of the customer's attempts: the current question while it is in play, the result once it is over.
pub async fn attempt(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    attempt_id: &str,
) -> Result<AttemptView, QuizError> {
    let Context { db, store, now } = cx;
    if !is_attempt_id(attempt_id) {
        return Err(QuizError::AttemptNotFound);
    }
    let mut row = quiz_attempts::Entity::find_by_id(attempt_id)
        .one(db)
        .await?
        .filter(|r| r.user_id == user_id)
        .ok_or(QuizError::AttemptNotFound)?;
    let quiz = load(db, campaign_slug).await?;
    if quiz.campaign.id != row.campaign_id {
        return Err(QuizError::AttemptNotFound);
    }
    let level = quiz.level(row.level as u32)?.clone();
    if row.status == status::ACTIVE {
        let view = store
            .quiz_attempt(campaign_slug, attempt_id, user_id)
            .await?;
        match view {
            Some(view) if view.current > view.count => {
                finish(cx, attempt_id, &view.answers).await?;
                row = quiz_attempts::Entity::find_by_id(attempt_id)
                    .one(db)
                    .await?
                    .ok_or(QuizError::AttemptNotFound)?;
            }
            Some(view) if row.expires_at > now => {
                return Ok(playing_view(&row, &level, &view));
            }
            _ => {}
        }
    }
    let over = row.status == status::PASSED || row.status == status::FAILED;
    let shown_status = if row.status == status::ACTIVE {
        status::EXPIRED
    } else {
        row.status.as_str()
    };
    Ok(AttemptView {
        attempt_id: row.id.clone(),
        resumed: false,
        level: row.level as u32,
        status: shown_status.into(),
        questions: level.questions,
        seconds_per_question: level.seconds_per_question,
        expires_at: shanghai(row.expires_at),
        question: None,
        answer_by: None,
        result: over.then(|| recorded_result(&row, &level)),
    })
}

/// Whether the customer has passed `level` of the campaign's quiz: what a team activity can ask of its members.
pub async fn passed_level(
    conn: &impl sea_orm::ConnectionTrait,
    campaign_id: i64,
    user_id: i64,
    level: u32,
) -> Result<bool, sea_orm::DbErr> {
    use sea_orm::PaginatorTrait;
    let passed = quiz_attempts::Entity::find()
        .filter(quiz_attempts::Column::CampaignId.eq(campaign_id))
        .filter(quiz_attempts::Column::UserId.eq(user_id))
        .filter(quiz_attempts::Column::Level.eq(level as i32))
        .filter(quiz_attempts::Column::Status.eq(status::PASSED))
        .count(conn)
        .await?;
    Ok(passed > 0)
}
