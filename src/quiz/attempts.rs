//! Starting an attempt: the gate, the unlock rule, the daily limit, one active per level, questions chosen and options shuffled per attempt.

use std::collections::HashMap;

use rand::seq::{IndexedRandom, SliceRandom};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::finish::finish;
use super::levels::LevelConfig;
use super::model::{
    from_millis, load, millis, status, AttemptView, QuizError, LABELS, RETAIN_AFTER_EXPIRY,
};
use crate::calendar::{shanghai, ActivityKind};
use crate::campaigns::gate::{self, Scope};
use crate::config::QuizSettings;
use crate::entities::{prize_pools, quiz_attempts, quiz_banks, quiz_questions, users};
use crate::state::Context;
use crate::store::quiz::{AnswerRecord, AttemptQuestion, NewAttempt};

/// Starts an attempt at `level`, or returns the one the customer already has going.
pub async fn start(
    cx: Context<'_>,
    rules: &QuizSettings,
    user_id: i64,
    campaign_slug: &str,
    level: u32,
) -> Result<AttemptView, QuizError> {
    // A finished attempt whose result write is still pending gets finished first, then the start goes ahead.
    for _ in 0..2 {
        match try_start(cx, rules, user_id, campaign_slug, level).await? {
            Started::View(view) => return Ok(view),
            Started::FinishFirst(attempt_id, answers) => {
                finish(cx, &attempt_id, &answers).await?;
            }
        }
    }
    Err(QuizError::Unexpected(anyhow::anyhow!(
        "an attempt kept finishing while another started"
    )))
}

pub(super) enum Started {
    View(AttemptView),
    /// The level's attempt in play was fully answered but its result is not written yet.
    FinishFirst(String, Vec<AnswerRecord>),
}

pub(super) async fn try_start(
    cx: Context<'_>,
    rules: &QuizSettings,
    user_id: i64,
    campaign_slug: &str,
    level_number: u32,
) -> Result<Started, QuizError> {
    let Context { db, store, now } = cx;
    let quiz = load(db, campaign_slug).await?;
    let level = quiz.level(level_number)?.clone();
    gate::check(
        db,
        store,
        &quiz.campaign,
        Scope::Kind(ActivityKind::Quiz),
        now,
    )
    .await?;
    let txn = crate::db::begin_write(db).await?;
    // One customer's starts go one at a time, so the daily limit and the one-active rule hold under races.
    users::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| QuizError::Unexpected(anyhow::anyhow!("customer {user_id} has no row")))?;
    let today = crate::calendar::day_key(now);
    let mine = quiz_attempts::Entity::find()
        .filter(quiz_attempts::Column::UserId.eq(user_id))
        .filter(quiz_attempts::Column::ActivityId.eq(quiz.activity.id))
        .all(&txn)
        .await?;
    for row in mine
        .iter()
        .filter(|r| r.level == level_number as i32 && r.status == status::ACTIVE)
    {
        let view = store
            .quiz_attempt(&quiz.campaign.slug, &row.id, user_id)
            .await?;
        let new_status = match view {
            Some(view) if view.current > view.count => {
                return Ok(Started::FinishFirst(row.id.clone(), view.answers));
            }
            Some(view) if row.expires_at > now => {
                txn.commit().await?;
                return Ok(Started::View(playing_view(row, &level, &view)));
            }
            Some(_) => status::EXPIRED,
            // The store lost it (flushed): not the customer's doing, so it does not use up an attempt.
            None if row.expires_at > now => status::LOST,
            None => status::EXPIRED,
        };
        set_status(&txn, &row.id, new_status).await?;
    }
    if level_number > 1 && level.requires_previous {
        let previous = level_number as i32 - 1;
        let passed = mine
            .iter()
            .any(|r| r.level == previous && r.status == status::PASSED);
        if !passed {
            return Err(QuizError::Locked(level_number - 1));
        }
    }
    // Rows just marked lost above still read `active` in `mine`; only those still live count.
    let used_today = mine
        .iter()
        .filter(|r| r.level == level_number as i32 && r.day == today && r.status != status::LOST)
        .filter(|r| r.status != status::ACTIVE || r.expires_at <= now)
        .count() as u32;
    if used_today >= level.daily_attempts {
        return Err(QuizError::DailyLimit(level.daily_attempts));
    }
    if let (true, Some(pool)) = (level.reward_chances > 0, &quiz.config.pool) {
        // Found now, not when the customer has answered everything and the reward cannot be paid.
        prize_pools::Entity::find()
            .filter(prize_pools::Column::CampaignId.eq(quiz.campaign.id))
            .filter(prize_pools::Column::Slug.eq(pool.as_str()))
            .one(&txn)
            .await?
            .ok_or_else(|| QuizError::Misconfigured(format!("prize pool `{pool}` is missing")))?;
    }
    let chosen = choose_questions(&txn, &quiz.config.bank, &level).await?;
    let attempt_id = uuid::Uuid::new_v4().simple().to_string();
    let count = chosen.len() as u32;
    let mut shown = Vec::with_capacity(chosen.len());
    let mut questions = Vec::with_capacity(chosen.len());
    for (i, question) in chosen.iter().enumerate() {
        let (order, attempt_question) =
            shuffle(question, i as u32 + 1, count, level.seconds_per_question)?;
        shown.push(json!({ "id": question.id, "options": order }));
        questions.push(attempt_question);
    }
    let per_question_ms = i64::from(level.seconds_per_question) * 1000;
    let grace_ms = rules.answer_grace_millis as i64;
    let expires_at = from_millis(
        (millis(now) + per_question_ms * i64::from(count) + grace_ms)
            .min(millis(quiz.activity.ends_at)),
    );
    let row = quiz_attempts::ActiveModel {
        id: Set(attempt_id.clone()),
        user_id: Set(user_id),
        campaign_id: Set(quiz.campaign.id),
        activity_id: Set(quiz.activity.id),
        level: Set(level_number as i32),
        status: Set(status::ACTIVE.into()),
        day: Set(today),
        questions: Set(Value::Array(shown)),
        started_at: Set(now),
        expires_at: Set(expires_at),
        finished_at: Set(None),
        score: Set(None),
        total_ms: Set(None),
        flagged: Set(false),
        answers: Set(None),
        points_granted: Set(0),
        chances_granted: Set(0),
    }
    .insert(&txn)
    .await?;
    let first = questions[0].public.clone();
    let ttl = (expires_at - now).to_std().unwrap_or_default() + RETAIN_AFTER_EXPIRY;
    // In the store before the commit: a racing start (waiting on the user lock) then finds it and resumes it.
    store
        .start_quiz(&NewAttempt {
            campaign: quiz.campaign.slug.clone(),
            attempt_id: attempt_id.clone(),
            user_id,
            questions,
            started_at_ms: millis(now),
            expires_at_ms: millis(expires_at),
            late_after_ms: per_question_ms + grace_ms,
            too_fast_ms: rules.too_fast_millis as i64,
            ttl,
        })
        .await?;
    txn.commit().await?;
    Ok(Started::View(AttemptView {
        attempt_id: row.id,
        resumed: false,
        level: level_number,
        status: status::ACTIVE.into(),
        questions: count,
        seconds_per_question: level.seconds_per_question,
        expires_at: shanghai(expires_at),
        question: serde_json::from_str(&first).ok(),
        answer_by: Some(shanghai(from_millis(millis(now) + per_question_ms))),
        result: None,
    }))
}

pub(super) fn playing_view(
    row: &quiz_attempts::Model,
    level: &LevelConfig,
    view: &crate::store::quiz::AttemptView,
) -> AttemptView {
    let per_question_ms = i64::from(level.seconds_per_question) * 1000;
    AttemptView {
        attempt_id: row.id.clone(),
        resumed: true,
        level: row.level as u32,
        status: row.status.clone(),
        questions: view.count,
        seconds_per_question: level.seconds_per_question,
        expires_at: shanghai(row.expires_at),
        question: view
            .current_public
            .as_deref()
            .and_then(|q| serde_json::from_str(q).ok()),
        answer_by: Some(shanghai(from_millis(view.shown_at_ms + per_question_ms))),
        result: None,
    }
}

pub(super) async fn set_status(
    conn: &impl ConnectionTrait,
    attempt_id: &str,
    status: &str,
) -> Result<(), QuizError> {
    quiz_attempts::Entity::update_many()
        .col_expr(quiz_attempts::Column::Status, Expr::value(status))
        .filter(quiz_attempts::Column::Id.eq(attempt_id))
        .filter(quiz_attempts::Column::Status.eq(status::ACTIVE))
        .exec(conn)
        .await?;
    Ok(())
}

/// `level.questions` questions of the bank that match the level, chosen at random.
pub(super) async fn choose_questions(
    conn: &impl ConnectionTrait,
    bank_slug: &str,
    level: &LevelConfig,
) -> Result<Vec<quiz_questions::Model>, QuizError> {
    let bank = quiz_banks::Entity::find()
        .filter(quiz_banks::Column::Slug.eq(bank_slug))
        .one(conn)
        .await?
        .ok_or_else(|| {
            QuizError::Misconfigured(format!("question bank `{bank_slug}` is missing"))
        })?;
    let candidates: Vec<(i64, Value, i16)> = quiz_questions::Entity::find()
        .select_only()
        .column(quiz_questions::Column::Id)
        .column(quiz_questions::Column::Tags)
        .column(quiz_questions::Column::Difficulty)
        .filter(quiz_questions::Column::BankId.eq(bank.id))
        .filter(
            quiz_questions::Column::Difficulty.between(level.min_difficulty, level.max_difficulty),
        )
        .into_tuple()
        .all(conn)
        .await?;
    let matching: Vec<i64> = candidates
        .into_iter()
        .filter(|(_, tags, _)| {
            level.tags.is_empty()
                || tags.as_array().is_some_and(|tags| {
                    tags.iter().any(|t| level.tags.iter().any(|want| t == want))
                })
        })
        .map(|(id, _, _)| id)
        .collect();
    let wanted = level.questions as usize;
    if matching.len() < wanted {
        return Err(QuizError::Misconfigured(format!(
            "level `{}` needs {wanted} questions from bank `{bank_slug}` and {} match",
            level.name,
            matching.len()
        )));
    }
    let picked: Vec<i64> = matching
        .choose_multiple(&mut rand::rng(), wanted)
        .copied()
        .collect();
    let mut rows: HashMap<i64, quiz_questions::Model> = quiz_questions::Entity::find()
        .filter(quiz_questions::Column::Id.is_in(picked.clone()))
        .all(conn)
        .await?
        .into_iter()
        .map(|q| (q.id, q))
        .collect();
    Ok(picked.iter().filter_map(|id| rows.remove(id)).collect())
}

#[derive(Deserialize)]
pub(super) struct StoredOption {
    id: String,
    text: String,
}

/// Shuffles a question's options and labels them A, B, C... in the order shown: a label says nothing about
/// which option it was in the bank, or in another attempt. Returns the bank ids in the order shown.
pub(super) fn shuffle(
    question: &quiz_questions::Model,
    number: u32,
    count: u32,
    seconds: u32,
) -> Result<(Vec<String>, AttemptQuestion), QuizError> {
    let broken = || QuizError::Misconfigured(format!("question {} is unreadable", question.id));
    let mut options: Vec<StoredOption> =
        serde_json::from_value(question.options.clone()).map_err(|_| broken())?;
    let correct: Vec<String> =
        serde_json::from_value(question.correct.clone()).map_err(|_| broken())?;
    if options.len() > LABELS.len() {
        return Err(broken());
    }
    options.shuffle(&mut rand::rng());
    let labels: String = LABELS[..options.len()].iter().collect();
    let mut right: Vec<char> = options
        .iter()
        .zip(LABELS)
        .filter(|(o, _)| correct.contains(&o.id))
        .map(|(_, label)| label)
        .collect();
    right.sort_unstable();
    let public = json!({
        "number": number,
        "of": count,
        "seconds": seconds,
        "kind": question.kind,
        "stem": question.stem,
        "options": options.iter().zip(LABELS).map(|(o, label)| json!({ "id": label.to_string(), "text": o.text })).collect::<Vec<_>>(),
    });
    Ok((
        options.iter().map(|o| o.id.clone()).collect(),
        AttemptQuestion {
            public: public.to_string(),
            labels,
            multiple: question.kind == "multiple",
            correct: right.into_iter().collect(),
            explanation: question.explanation.clone(),
        },
    ))
}
