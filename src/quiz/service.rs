//! Playing a quiz, gathered from its use-case files for the routes: starting an attempt, answering, finishing,
//! progress and the campaign's leaderboard.

pub use super::answers::{answer, AnswerInput, AnswerView};
pub use super::attempts::start;
pub use super::board::{leaderboard, rebuild_board, BoardRow, Leaderboard};
pub use super::model::{AttemptResult, AttemptView, QuizError, MAX_BOARD_TOP};
pub use super::progress::{attempt, passed_level, progress, LevelProgress, Progress};
