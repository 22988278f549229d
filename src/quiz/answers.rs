//! Answering: one atomic store step per answer, timed by the server.

use sea_orm::{DatabaseConnection, EntityTrait};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::finish::finish;
use super::model::{from_millis, millis, status, AttemptResult, QuizError, LABELS};
use crate::calendar::shanghai;
use crate::entities::quiz_attempts;
use crate::state::Context;
use crate::store::quiz::{AnswerOutcome, AnswerSpec};

/// An answer as the customer sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// The number of the question answered (1-based).
    pub question: u32,
    /// The chosen option ids (`["B"]`, or several for a multiple-choice question).
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
pub(super) fn chosen_labels(options: &[String]) -> Result<String, QuizError> {
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

pub(super) fn is_attempt_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

/// One answer: judged and recorded by the store in one step; the last one finishes the attempt.
pub async fn answer(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    attempt_id: &str,
    input: &AnswerInput,
) -> Result<AnswerView, QuizError> {
    let Context { db, store, now } = cx;
    if !is_attempt_id(attempt_id) {
        return Err(QuizError::AttemptNotFound);
    }
    let chosen = chosen_labels(&input.options)?;
    let spec = AnswerSpec {
        campaign: campaign_slug.to_owned(),
        attempt_id: attempt_id.to_owned(),
        user_id,
        number: input.question,
        chosen,
        now_ms: millis(now),
    };
    let answered = match store.answer_quiz(&spec).await? {
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
                .one(db)
                .await?
                .is_some_and(|row| row.status == status::ACTIVE);
            if pending {
                finish(cx, attempt_id, &answers).await?;
            }
            return Err(QuizError::Finished);
        }
        AnswerOutcome::NotFound => return Err(gone_from_store(db, user_id, attempt_id).await?),
    };
    let result = match &answered.finished {
        Some(answers) => Some(finish(cx, attempt_id, answers).await?),
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
pub(super) async fn gone_from_store(
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
