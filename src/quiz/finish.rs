//! Finishing: the result and the level's first-pass rewards in one transaction, once.

use sea_orm::{ActiveModelTrait, EntityTrait, QuerySelect, Set};
use serde_json::{json, Value};

use super::board::standings;
use super::levels::LevelConfig;
use super::model::{load_activity, status, AttemptResult, QuizError};
use crate::entities::{campaigns, quiz_attempts};
use crate::rewards::{Chances, Grant, Granted, Reward, Rewards};
use crate::state::Context;
use crate::store::quiz::AnswerRecord;

/// Records the result of a fully answered attempt and pays the level's rewards, in one transaction, once: a
/// second call (a concurrent last answer, a retry after a failed write) finds the row finished and returns it.
pub(super) async fn finish(
    cx: Context<'_>,
    attempt_id: &str,
    answers: &[AnswerRecord],
) -> Result<AttemptResult, QuizError> {
    let Context { db, store, now } = cx;
    let txn = crate::db::begin_write(db).await?;
    let row = quiz_attempts::Entity::find_by_id(attempt_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(QuizError::AttemptNotFound)?;
    let campaign = campaigns::Entity::find_by_id(row.campaign_id)
        .one(&txn)
        .await?
        .ok_or(QuizError::NotFound)?;
    let quiz = load_activity(&txn, campaign).await?;
    let level = quiz.level(row.level as u32)?.clone();
    if row.status != status::ACTIVE && row.status != status::LOST {
        txn.commit().await?;
        return Ok(recorded_result(&row, &level));
    }
    let score = answers.iter().filter(|a| a.correct).count() as u32;
    let total_ms: i64 = answers.iter().map(|a| a.elapsed_ms).sum();
    let flagged = answers.iter().any(|a| a.too_fast);
    let passed = score >= level.pass_score;
    let (mut points_granted, mut chances_granted) = (0i64, 0u32);
    let mut rewards = Rewards::new(now);
    if passed {
        // The level's rewards are paid on its first pass: replays improve the leaderboard, not the balance.
        let reward_ref = format!("quiz:{}:{}:{}", quiz.activity.id, row.level, row.user_id);
        // Every pass is an event (a task may ask for a pass within its own window, after a first one earlier).
        crate::outbox::record(
            &txn,
            &crate::outbox::Event {
                user_id: row.user_id,
                kind: crate::outbox::EventKind::QuizPassed,
                source_ref: &format!("quiz-pass:{}", row.id),
                campaign_id: Some(quiz.campaign.id),
                activity_id: Some(quiz.activity.id),
                subject: Some(&row.level.to_string()),
                at: now,
            },
        )
        .await?;
        let grant = |reward| Grant {
            user_id: row.user_id,
            source_ref: &reward_ref,
            reward,
        };
        if level.reward_points > 0 {
            let points = grant(Reward::Points {
                amount: i64::from(level.reward_points),
                reason: "quiz_passed",
                campaign: Some(&quiz.campaign.slug),
            });
            if let Granted::Points { entry, new: true } = rewards.grant(&txn, &points).await? {
                points_granted = entry.delta;
            }
        }
        if let (true, Some(pool_slug)) = (level.reward_chances > 0, &quiz.config.pool) {
            let pool = crate::rewards::pool_by_slug(&txn, quiz.campaign.id, pool_slug)
                .await?
                .ok_or_else(|| {
                    QuizError::Misconfigured(format!("prize pool `{pool_slug}` is missing"))
                })?;
            let chances = grant(Reward::Chances(Chances {
                campaign: &quiz.campaign.slug,
                pool_id: pool.id,
                amount: level.reward_chances,
                source: "quiz",
                all_or_none: false,
            }));
            if let Granted::Chances(granted) = rewards.grant(&txn, &chances).await? {
                chances_granted = granted;
            }
        }
    }
    let answers_json: Vec<Value> = answers
        .iter()
        .map(|a| {
            json!({ "chosen": a.chosen, "correct": a.correct, "late": a.late,
                    "too_fast": a.too_fast, "elapsed_ms": a.elapsed_ms })
        })
        .collect();
    let mut update: quiz_attempts::ActiveModel = row.clone().into();
    update.status = Set(if passed {
        status::PASSED
    } else {
        status::FAILED
    }
    .into());
    update.finished_at = Set(Some(now));
    update.score = Set(Some(score as i32));
    update.total_ms = Set(Some(total_ms));
    update.flagged = Set(flagged);
    update.answers = Set(Some(Value::Array(answers_json)));
    update.points_granted = Set(points_granted as i32);
    update.chances_granted = Set(chances_granted as i32);
    let finished = update.update(&txn).await?;
    txn.commit().await?;
    rewards.after_commit(store).await;
    if !flagged {
        let standing = standings(db, quiz.campaign.id, Some(row.user_id)).await?;
        store
            .board_submit(&quiz.campaign.slug, &standing, false)
            .await?;
    }
    Ok(recorded_result(&finished, &level))
}

pub(super) fn recorded_result(row: &quiz_attempts::Model, level: &LevelConfig) -> AttemptResult {
    let score = row.score.unwrap_or(0).max(0) as u32;
    AttemptResult {
        score,
        pass_score: level.pass_score,
        passed: row.status == status::PASSED,
        total_ms: row.total_ms.unwrap_or(0),
        flagged: row.flagged,
        points: i64::from(row.points_granted),
        chances: row.chances_granted.max(0) as u32,
    }
}
