//! Quiz attempts and leaderboards in the store. An attempt's questions (what the customer sees, and what only
//! the server knows: the right options and the explanation) are written once when it starts; each answer is then
//! one atomic step that judges it by the caller's clock, records it and moves to the next question. The memory
//! store and `redis/quiz_answer.lua` make the same decision, in `judge` below.

use async_trait::async_trait;

use super::StoreError;
use std::time::Duration;

/// One question of an attempt, with its options already shuffled and relabelled A, B, C... for this attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptQuestion {
    /// What the customer is shown (JSON: number, kind, stem, options); never the answer.
    pub public: String,
    /// The labels on offer, e.g. `ABCD`.
    pub labels: String,
    pub multiple: bool,
    /// The right labels, sorted, e.g. `AC`.
    pub correct: String,
    pub explanation: String,
}

#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub campaign: String,
    pub attempt_id: String,
    pub user_id: i64,
    pub questions: Vec<AttemptQuestion>,
    /// When the first question was shown (ms since the epoch).
    pub started_at_ms: i64,
    /// No answer is taken after this.
    pub expires_at_ms: i64,
    /// An answer later than this after its question was shown is wrong.
    pub late_after_ms: i64,
    /// An answer sooner than this after its question was shown is flagged.
    pub too_fast_ms: i64,
    /// How long the store keeps the attempt (past its expiry, to answer `attempt_finished` and finish late writes).
    pub ttl: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerSpec {
    pub campaign: String,
    pub attempt_id: String,
    pub user_id: i64,
    /// The question answered, 1-based.
    pub number: u32,
    /// The chosen labels, sorted and unique (the service checks they are letters A-F).
    pub chosen: String,
    pub now_ms: i64,
}

/// How one answer was judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRecord {
    pub chosen: String,
    pub correct: bool,
    pub late: bool,
    pub too_fast: bool,
    pub elapsed_ms: i64,
}

impl AnswerRecord {
    pub fn encode(&self) -> String {
        let bit = |b: bool| if b { '1' } else { '0' };
        format!(
            "{}|{}|{}|{}|{}",
            self.chosen,
            bit(self.correct),
            bit(self.late),
            bit(self.too_fast),
            self.elapsed_ms
        )
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split('|');
        let chosen = parts.next()?.to_owned();
        let mut bit = || parts.next().map(|p| p == "1");
        let (correct, late, too_fast) = (bit()?, bit()?, bit()?);
        let elapsed_ms = parts.next()?.parse().ok()?;
        Some(Self {
            chosen,
            correct,
            late,
            too_fast,
            elapsed_ms,
        })
    }
}

/// The answer to one question, as the store judged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub record: AnswerRecord,
    pub correct: String,
    pub explanation: String,
    /// The next question's public JSON, or `None` after the last one.
    pub next: Option<String>,
    /// Every answer of the attempt, when this one was its last.
    pub finished: Option<Vec<AnswerRecord>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// No such attempt for this user (never was, or long gone).
    NotFound,
    Paused,
    Expired,
    /// Every question was answered already: the records, so a lost result write can be finished.
    Finished(Vec<AnswerRecord>),
    /// The answer is not for the current question.
    NotCurrent {
        current: u32,
    },
    /// A label not on offer, or several for a single-choice question.
    InvalidOption,
    Answered(Box<Answered>),
}

/// Where an attempt stands (to resume it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptView {
    /// The question to answer now, 1-based; `count + 1` when all are answered.
    pub current: u32,
    pub count: u32,
    pub current_public: Option<String>,
    pub shown_at_ms: i64,
    pub answers: Vec<AnswerRecord>,
}

/// The decision both backends make on a checked, current answer.
pub fn judge(
    question_correct: &str,
    chosen: &str,
    elapsed_ms: i64,
    late_after_ms: i64,
    too_fast_ms: i64,
) -> AnswerRecord {
    let elapsed_ms = elapsed_ms.max(0);
    let late = elapsed_ms > late_after_ms;
    AnswerRecord {
        chosen: chosen.to_owned(),
        correct: !late && chosen == question_correct,
        late,
        too_fast: elapsed_ms < too_fast_ms,
        elapsed_ms,
    }
}

/// Whether `chosen` is a possible answer among `labels`.
pub fn valid_choice(labels: &str, multiple: bool, chosen: &str) -> bool {
    !chosen.is_empty()
        && (multiple || chosen.len() == 1)
        && chosen.chars().all(|c| labels.contains(c))
}

/// A leaderboard entry's single sortable number: the score first, then the least total answer time.
pub fn board_value(score: i64, total_ms: i64) -> i64 {
    score * TIME_SPAN - total_ms.clamp(0, TIME_SPAN - 1)
}

/// Splits `board_value` back into (score, total ms).
pub fn board_parts(value: i64) -> (i64, i64) {
    let score = value.div_euclid(TIME_SPAN) + i64::from(value.rem_euclid(TIME_SPAN) != 0);
    (score, score * TIME_SPAN - value)
}

/// Room for total answer times under a million seconds; values stay well inside a double's exact integers,
/// which is what a Redis sorted set keeps.
const TIME_SPAN: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardEntry {
    pub user_id: i64,
    pub value: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardPage {
    /// False when the store has lost the board (flushed) and it must be rebuilt from the database.
    pub built: bool,
    pub top: Vec<BoardEntry>,
    /// The caller's 1-based rank and value, if on the board.
    pub mine: Option<(u64, i64)>,
}

/// Quiz attempts and leaderboards.
#[async_trait]
pub trait QuizStore: Send + Sync + 'static {
    /// Writes a new quiz attempt (its questions, answers and timing), kept for `attempt.ttl`.
    async fn start_quiz(&self, attempt: &NewAttempt) -> Result<(), StoreError>;

    /// One answer, in one atomic step: the campaign's pause flag, the attempt's owner, expiry and current
    /// question, the option labels, then the judgement (by `spec.now_ms`), recorded, and the next question.
    async fn answer_quiz(&self, spec: &AnswerSpec) -> Result<AnswerOutcome, StoreError>;

    /// Where the user's attempt stands, if the store still has it.
    async fn quiz_attempt(
        &self,
        campaign: &str,
        attempt_id: &str,
        user_id: i64,
    ) -> Result<Option<AttemptView>, StoreError>;

    /// Raises each user's leaderboard value to at least `entry.value` (never lowers one: values only improve,
    /// so racing writers and a rebuild agree). `complete` marks the board as holding every entry (a rebuild).
    async fn board_submit(
        &self,
        campaign: &str,
        entries: &[BoardEntry],
        complete: bool,
    ) -> Result<(), StoreError>;

    /// The top `top` entries, best first, and the user's rank, in one read.
    async fn board_page(
        &self,
        campaign: &str,
        top: u32,
        user_id: i64,
    ) -> Result<BoardPage, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let record = judge("AC", "AC", 2_500, 20_000, 800);
        assert!(record.correct && !record.late && !record.too_fast);
        assert_eq!(AnswerRecord::decode(&record.encode()), Some(record));
    }

    #[test]
    fn late_is_wrong_and_fast_is_flagged() {
        assert!(!judge("A", "A", 20_001, 20_000, 800).correct);
        assert!(judge("A", "A", 100, 20_000, 800).too_fast);
        assert!(!valid_choice("ABCD", false, "AB"));
        assert!(!valid_choice("ABCD", true, "AE"));
        assert!(valid_choice("ABCD", true, "AD"));
    }

    #[test]
    fn board_values_order_by_score_then_time() {
        assert!(board_value(5, 10_000) > board_value(5, 20_000));
        assert!(board_value(5, 900_000) > board_value(4, 1));
        for (score, ms) in [(5, 10_000), (0, 7), (3, 0), (12, 999_999_999)] {
            assert_eq!(board_parts(board_value(score, ms)), (score, ms));
        }
    }
}
