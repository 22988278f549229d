//! Playing a quiz: starting an attempt (unlock rule, daily limit, one active per level, questions chosen and
//! options shuffled per attempt), answering (one atomic store step per answer, timed by the server), finishing
//! (the result and the level's rewards in one transaction, once), progress and the campaign's leaderboard.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use rand::seq::{IndexedRandom, SliceRandom};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::levels::{LevelConfig, QuizConfig};
use crate::calendar::{is_live, read_config, shanghai, ActivityKind};
use crate::campaigns::gate::{self, GateError, Scope};
use crate::entities::{
    activities, campaigns, prize_pools, quiz_attempts, quiz_banks, quiz_questions, users,
};
use crate::error::{AppError, ErrorCode};
use crate::lottery::service as lottery;
use crate::points::service::{self as points, PointsChange};
use crate::state::AppState;
use crate::store::quiz::{
    board_parts, board_value, AnswerOutcome, AnswerRecord, AnswerSpec, AttemptQuestion, BoardEntry,
    NewAttempt,
};
use crate::store::StoreError;

/// The store keeps an attempt this long past its expiry: answers then get `attempt_finished` or
/// `attempt_expired` rather than `attempt_not_found`, and a result write that failed can still be finished.
const RETAIN_AFTER_EXPIRY: Duration = Duration::from_secs(3600);
/// Long enough for a campaign's full rebuild; a holder that dies frees it by then.
const REBUILD_LOCK_TTL: Duration = Duration::from_secs(60);
/// The most entries a leaderboard page shows.
pub const MAX_BOARD_TOP: u32 = 100;
const LABELS: [char; 6] = ['A', 'B', 'C', 'D', 'E', 'F'];

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

impl From<lottery::LotteryError> for QuizError {
    fn from(error: lottery::LotteryError) -> Self {
        QuizError::Unexpected(anyhow::anyhow!(error))
    }
}

impl From<points::PointsError> for QuizError {
    fn from(error: points::PointsError) -> Self {
        QuizError::Unexpected(anyhow::anyhow!(error))
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
struct Quiz {
    campaign: campaigns::Model,
    activity: activities::Model,
    config: QuizConfig,
}

impl Quiz {
    fn level(&self, number: u32) -> Result<&LevelConfig, QuizError> {
        self.config.level(number).ok_or(QuizError::LevelNotFound)
    }

    /// For showing progress; actions go through the gate.
    fn is_open(&self, now: DateTime<Utc>) -> bool {
        is_live(&self.campaign, now) && gate::activity_open(&self.activity, now)
    }
}

async fn load(conn: &impl ConnectionTrait, campaign_slug: &str) -> Result<Quiz, QuizError> {
    let campaign = gate::find_campaign(conn, campaign_slug)
        .await?
        .ok_or(QuizError::NotFound)?;
    load_activity(conn, campaign).await
}

async fn load_activity(
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

fn day_of(time: DateTime<Utc>) -> String {
    time.with_timezone(&Shanghai).format("%Y-%m-%d").to_string()
}

/// Status names of `quiz_attempts`.
mod status {
    pub const ACTIVE: &str = "active";
    pub const PASSED: &str = "passed";
    pub const FAILED: &str = "failed";
    pub const EXPIRED: &str = "expired";
    pub const LOST: &str = "lost";
}

/// An attempt as the customer sees it while playing.
#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
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

fn millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Starts an attempt at `level`, or returns the one the customer already has going.
pub async fn start(
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
    level: u32,
) -> Result<AttemptView, QuizError> {
    // A finished attempt whose result write is still pending gets finished first, then the start goes ahead.
    for _ in 0..2 {
        match try_start(state, user_id, campaign_slug, level).await? {
            Started::View(view) => return Ok(view),
            Started::FinishFirst(attempt_id, answers) => {
                finish(state, &attempt_id, &answers).await?;
            }
        }
    }
    Err(QuizError::Unexpected(anyhow::anyhow!(
        "an attempt kept finishing while another started"
    )))
}

enum Started {
    View(AttemptView),
    /// The level's attempt in play was fully answered but its result is not written yet.
    FinishFirst(String, Vec<AnswerRecord>),
}

async fn try_start(
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
    level_number: u32,
) -> Result<Started, QuizError> {
    let now = state.clock.now();
    let quiz = load(&state.db, campaign_slug).await?;
    let level = quiz.level(level_number)?.clone();
    gate::check(
        &state.db,
        state.store.as_ref(),
        &quiz.campaign,
        Scope::Kind(ActivityKind::Quiz),
        now,
    )
    .await?;
    let txn = crate::db::begin_write(&state.db).await?;
    // One customer's starts go one at a time, so the daily limit and the one-active rule hold under races.
    users::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| QuizError::Unexpected(anyhow::anyhow!("customer {user_id} has no row")))?;
    let today = day_of(now);
    let mine = quiz_attempts::Entity::find()
        .filter(quiz_attempts::Column::UserId.eq(user_id))
        .filter(quiz_attempts::Column::ActivityId.eq(quiz.activity.id))
        .all(&txn)
        .await?;
    for row in mine
        .iter()
        .filter(|r| r.level == level_number as i32 && r.status == status::ACTIVE)
    {
        let view = state
            .store
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
    let grace_ms = state.settings.quiz.answer_grace_millis as i64;
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
    state
        .store
        .start_quiz(&NewAttempt {
            campaign: quiz.campaign.slug.clone(),
            attempt_id: attempt_id.clone(),
            user_id,
            questions,
            started_at_ms: millis(now),
            expires_at_ms: millis(expires_at),
            late_after_ms: per_question_ms + grace_ms,
            too_fast_ms: state.settings.quiz.too_fast_millis as i64,
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

fn playing_view(
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

async fn set_status(
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
async fn choose_questions(
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
struct StoredOption {
    id: String,
    text: String,
}

/// Shuffles a question's options and labels them A, B, C... in the order shown: a label says nothing about
/// which option it was in the bank, or in another attempt. Returns the bank ids in the order shown.
fn shuffle(
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

/// An answer as the customer sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// The number of the question answered (1-based).
    pub question: u32,
    /// The chosen option ids (`["B"]`, or several for a multiple-choice question).
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnswerView {
    pub question: u32,
    pub correct: bool,
    /// Answered after the question's time (it counts as wrong).
    pub late: bool,
    /// The right options of the question just answered.
    pub correct_options: Vec<String>,
    pub explanation: String,
    pub next_question: Option<Value>,
    pub answer_by: Option<String>,
    /// Present once the last question is answered.
    pub result: Option<AttemptResult>,
}

/// Checks the chosen labels before they reach the store: letters A-F, each at most once, sorted.
fn chosen_labels(options: &[String]) -> Result<String, QuizError> {
    let mut labels: Vec<char> = Vec::with_capacity(options.len());
    for option in options {
        let mut chars = option.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if LABELS.contains(&c) && !labels.contains(&c) => labels.push(c),
            _ => return Err(QuizError::InvalidOption),
        }
    }
    labels.sort_unstable();
    Ok(labels.into_iter().collect())
}

fn is_attempt_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

/// One answer: judged and recorded by the store in one step; the last one finishes the attempt.
pub async fn answer(
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
    attempt_id: &str,
    input: &AnswerInput,
) -> Result<AnswerView, QuizError> {
    if !is_attempt_id(attempt_id) {
        return Err(QuizError::AttemptNotFound);
    }
    let chosen = chosen_labels(&input.options)?;
    let now = state.clock.now();
    let spec = AnswerSpec {
        campaign: campaign_slug.to_owned(),
        attempt_id: attempt_id.to_owned(),
        user_id,
        number: input.question,
        chosen,
        now_ms: millis(now),
    };
    let answered = match state.store.answer_quiz(&spec).await? {
        AnswerOutcome::Answered(answered) => answered,
        AnswerOutcome::Paused => return Err(QuizError::Paused),
        AnswerOutcome::Expired => return Err(QuizError::Expired),
        AnswerOutcome::InvalidOption => return Err(QuizError::InvalidOption),
        AnswerOutcome::NotCurrent { current } if input.question < current => {
            return Err(QuizError::AlreadyAnswered(input.question))
        }
        AnswerOutcome::NotCurrent { current } => return Err(QuizError::NotCurrent(current)),
        AnswerOutcome::Finished(answers) => {
            // The answer that finished it normally wrote the result; only a write that failed is redone here.
            let pending = quiz_attempts::Entity::find_by_id(attempt_id)
                .one(&state.db)
                .await?
                .is_some_and(|row| row.status == status::ACTIVE);
            if pending {
                finish(state, attempt_id, &answers).await?;
            }
            return Err(QuizError::Finished);
        }
        AnswerOutcome::NotFound => {
            return Err(gone_from_store(&state.db, user_id, attempt_id).await?)
        }
    };
    let result = match &answered.finished {
        Some(answers) => Some(finish(state, attempt_id, answers).await?),
        None => None,
    };
    let next_question: Option<Value> = answered
        .next
        .as_deref()
        .and_then(|q| serde_json::from_str(q).ok());
    // The next question's clock started with this answer.
    let answer_by = next_question
        .as_ref()
        .and_then(|q| q.get("seconds"))
        .and_then(Value::as_i64)
        .map(|seconds| shanghai(from_millis(millis(now) + seconds * 1000)));
    Ok(AnswerView {
        question: input.question,
        correct: answered.record.correct,
        late: answered.record.late,
        correct_options: answered.correct.chars().map(String::from).collect(),
        explanation: answered.explanation.clone(),
        next_question,
        answer_by,
        result,
    })
}

/// Why the store has no such attempt for this customer, from the database.
async fn gone_from_store(
    db: &DatabaseConnection,
    user_id: i64,
    attempt_id: &str,
) -> Result<QuizError, QuizError> {
    let row = quiz_attempts::Entity::find_by_id(attempt_id)
        .one(db)
        .await?;
    Ok(match row {
        Some(row) if row.user_id == user_id => match row.status.as_str() {
            status::PASSED | status::FAILED => QuizError::Finished,
            _ => QuizError::Expired,
        },
        _ => QuizError::AttemptNotFound,
    })
}

/// Records the result of a fully answered attempt and pays the level's rewards, in one transaction, once: a
/// second call (a concurrent last answer, a retry after a failed write) finds the row finished and returns it.
async fn finish(
    state: &AppState,
    attempt_id: &str,
    answers: &[AnswerRecord],
) -> Result<AttemptResult, QuizError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
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
    let mut pool_id = None;
    if passed {
        // The level's rewards are paid on its first pass: replays improve the leaderboard, not the balance.
        let reward_ref = format!("quiz:{}:{}:{}", quiz.activity.id, row.level, row.user_id);
        if level.reward_points > 0 {
            let factor = points::campaign_factor(&txn, &quiz.campaign.slug, now).await?;
            let change = PointsChange {
                user_id: row.user_id,
                delta: points::multiplied(i64::from(level.reward_points), factor)?,
                reason: "quiz_passed",
                source_ref: &reward_ref,
                campaign: Some(&quiz.campaign.slug),
            };
            let applied = points::apply(&txn, &change, factor).await?;
            if applied.new {
                points_granted = applied.entry.delta;
            }
        }
        if let (true, Some(pool_slug)) = (level.reward_chances > 0, &quiz.config.pool) {
            let pool = prize_pools::Entity::find()
                .filter(prize_pools::Column::CampaignId.eq(quiz.campaign.id))
                .filter(prize_pools::Column::Slug.eq(pool_slug.as_str()))
                .one(&txn)
                .await?
                .ok_or_else(|| {
                    QuizError::Misconfigured(format!("prize pool `{pool_slug}` is missing"))
                })?;
            chances_granted = lottery::record_grant(
                &txn,
                row.user_id,
                pool.id,
                "quiz",
                &reward_ref,
                level.reward_chances,
                now,
            )
            .await?;
            pool_id = Some(pool.id);
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
    if let Some(pool_id) = pool_id.filter(|_| chances_granted > 0) {
        state
            .store
            .add_chances(&quiz.campaign.slug, pool_id, row.user_id, chances_granted)
            .await?;
    }
    if !flagged {
        let standing = standings(&state.db, quiz.campaign.id, Some(row.user_id)).await?;
        state
            .store
            .board_submit(&quiz.campaign.slug, &standing, false)
            .await?;
    }
    Ok(recorded_result(&finished, &level))
}

fn recorded_result(row: &quiz_attempts::Model, level: &LevelConfig) -> AttemptResult {
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

/// Each user's leaderboard value from the database: the sum over levels of their best unflagged attempt (most
/// correct answers, then least time). For one user, or everyone in the campaign (a rebuild).
async fn standings(
    db: &DatabaseConnection,
    campaign_id: i64,
    user_id: Option<i64>,
) -> Result<Vec<BoardEntry>, QuizError> {
    let mut query = quiz_attempts::Entity::find()
        .select_only()
        .column(quiz_attempts::Column::UserId)
        .column(quiz_attempts::Column::Level)
        .column(quiz_attempts::Column::Score)
        .column(quiz_attempts::Column::TotalMs)
        .filter(quiz_attempts::Column::CampaignId.eq(campaign_id))
        .filter(quiz_attempts::Column::Status.is_in([status::PASSED, status::FAILED]))
        .filter(quiz_attempts::Column::Flagged.eq(false));
    if let Some(user_id) = user_id {
        query = query.filter(quiz_attempts::Column::UserId.eq(user_id));
    }
    let rows: Vec<(i64, i32, Option<i32>, Option<i64>)> = query.into_tuple().all(db).await?;
    let mut best: BTreeMap<(i64, i32), (i64, i64)> = BTreeMap::new();
    for (user, level, score, total_ms) in rows {
        let candidate = (i64::from(score.unwrap_or(0)), total_ms.unwrap_or(0));
        best.entry((user, level))
            .and_modify(|b| {
                if (candidate.0, -candidate.1) > (b.0, -b.1) {
                    *b = candidate;
                }
            })
            .or_insert(candidate);
    }
    let mut totals: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for ((user, _), (score, ms)) in best {
        let total = totals.entry(user).or_default();
        total.0 += score;
        total.1 += ms;
    }
    Ok(totals
        .into_iter()
        .map(|(user_id, (score, ms))| BoardEntry {
            user_id,
            value: board_value(score, ms),
        })
        .collect())
}

/// Rebuilds a campaign's leaderboard in the store from the database.
pub async fn rebuild_board(state: &AppState, campaign_slug: &str) -> Result<usize, QuizError> {
    let quiz = load(&state.db, campaign_slug).await?;
    let entries = standings(&state.db, quiz.campaign.id, None).await?;
    state
        .store
        .board_submit(&quiz.campaign.slug, &entries, true)
        .await?;
    Ok(entries.len())
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardRow {
    pub rank: u64,
    /// A masked phone number, or 微信用户 when none is bound.
    pub player: String,
    pub score: i64,
    pub total_ms: i64,
    pub you: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Leaderboard {
    pub top: Vec<BoardRow>,
    pub you: Option<BoardRow>,
}

pub async fn leaderboard(
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
    top: u32,
) -> Result<Leaderboard, QuizError> {
    let top = top.clamp(1, MAX_BOARD_TOP);
    let quiz = load(&state.db, campaign_slug).await?;
    let mut page = state
        .store
        .board_page(&quiz.campaign.slug, top, user_id)
        .await?;
    // One instance rebuilds a lost board; readers meanwhile see what the finishers have put back so far.
    let rebuild_lock = format!("quiz-board-rebuild:{}", quiz.campaign.slug);
    let lock = match page.built {
        true => None,
        false => state.store.lock(&rebuild_lock, REBUILD_LOCK_TTL).await?,
    };
    if let Some(token) = lock {
        let rebuilt = rebuild_board(state, &quiz.campaign.slug).await;
        state.store.unlock(&rebuild_lock, &token).await?;
        rebuilt?;
        page = state
            .store
            .board_page(&quiz.campaign.slug, top, user_id)
            .await?;
    }
    let ids: Vec<i64> = page.top.iter().map(|e| e.user_id).collect();
    let players: HashMap<i64, Option<String>> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::PhoneMasked)
        .filter(users::Column::Id.is_in(ids))
        .into_tuple()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let row = |rank: u64, user: i64, value: i64, player: Option<String>| {
        let (score, total_ms) = board_parts(value);
        BoardRow {
            rank,
            player: player.unwrap_or_else(|| "微信用户".into()),
            score,
            total_ms,
            you: user == user_id,
        }
    };
    let you = page.mine.map(|(rank, value)| {
        let mine = players.get(&user_id).cloned().flatten();
        row(rank, user_id, value, mine)
    });
    Ok(Leaderboard {
        top: page
            .top
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let player = players.get(&e.user_id).cloned().flatten();
                row(i as u64 + 1, e.user_id, e.value, player)
            })
            .collect(),
        you,
    })
}

#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub quiz: String,
    pub open: bool,
    pub levels: Vec<LevelProgress>,
}

pub async fn progress(
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
) -> Result<Progress, QuizError> {
    let now = state.clock.now();
    let quiz = load(&state.db, campaign_slug).await?;
    let mine = quiz_attempts::Entity::find()
        .filter(quiz_attempts::Column::UserId.eq(user_id))
        .filter(quiz_attempts::Column::ActivityId.eq(quiz.activity.id))
        .all(&state.db)
        .await?;
    let today = day_of(now);
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
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
    attempt_id: &str,
) -> Result<AttemptView, QuizError> {
    if !is_attempt_id(attempt_id) {
        return Err(QuizError::AttemptNotFound);
    }
    let mut row = quiz_attempts::Entity::find_by_id(attempt_id)
        .one(&state.db)
        .await?
        .filter(|r| r.user_id == user_id)
        .ok_or(QuizError::AttemptNotFound)?;
    let quiz = load(&state.db, campaign_slug).await?;
    if quiz.campaign.id != row.campaign_id {
        return Err(QuizError::AttemptNotFound);
    }
    let level = quiz.level(row.level as u32)?.clone();
    if row.status == status::ACTIVE {
        let view = state
            .store
            .quiz_attempt(campaign_slug, attempt_id, user_id)
            .await?;
        match view {
            Some(view) if view.current > view.count => {
                finish(state, attempt_id, &view.answers).await?;
                row = quiz_attempts::Entity::find_by_id(attempt_id)
                    .one(&state.db)
                    .await?
                    .ok_or(QuizError::AttemptNotFound)?;
            }
            Some(view) if row.expires_at > state.clock.now() => {
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
