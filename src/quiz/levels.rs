//! A quiz activity's config: the bank its questions come from, the pool its chance rewards go to, and its levels
//! in play order.

use serde::{Deserialize, Serialize};

use crate::calendar::is_slug;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuizConfig {
    /// The question bank every level draws from.
    pub bank: String,
    /// The campaign's prize pool that `reward_chances` are granted in.
    #[serde(default)]
    pub pool: Option<String>,
    pub levels: Vec<LevelConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LevelConfig {
    /// The topic, shown to customers (压岁钱规划 ...).
    pub name: String,
    /// Questions carrying any of these tags; none means the whole bank.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "easiest")]
    pub min_difficulty: i16,
    #[serde(default = "hardest")]
    pub max_difficulty: i16,
    /// Questions per attempt, chosen at random from those that match.
    pub questions: u32,
    pub seconds_per_question: u32,
    /// Correct answers needed to pass.
    pub pass_score: u32,
    #[serde(default = "default_daily_attempts")]
    pub daily_attempts: u32,
    /// Locked until the previous level is passed (ignored for the first level).
    #[serde(default = "locked_by_default")]
    pub requires_previous: bool,
    /// Paid on the level's first pass (multiplied by a live points week).
    #[serde(default)]
    pub reward_points: u32,
    /// Draw chances in the quiz's pool, on the level's first pass.
    #[serde(default)]
    pub reward_chances: u32,
}

fn easiest() -> i16 {
    1
}

fn hardest() -> i16 {
    5
}

fn default_daily_attempts() -> u32 {
    3
}

fn locked_by_default() -> bool {
    true
}

impl QuizConfig {
    /// The first problem, named by its field.
    pub fn check(&self) -> Result<(), String> {
        if !is_slug(&self.bank) {
            return Err("bank must be a question bank's slug".into());
        }
        if self.pool.as_deref().is_some_and(|p| !is_slug(p)) {
            return Err("pool must be a prize pool's slug".into());
        }
        if self.levels.is_empty() || self.levels.len() > 20 {
            return Err("levels must list 1 to 20 levels".into());
        }
        for (i, level) in self.levels.iter().enumerate() {
            level
                .check(self.pool.is_some())
                .map_err(|problem| format!("levels[{i}].{problem}"))?;
        }
        Ok(())
    }

    /// Level `number` (1-based).
    pub fn level(&self, number: u32) -> Option<&LevelConfig> {
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        self.levels.get(index)
    }
}

impl LevelConfig {
    fn check(&self, has_pool: bool) -> Result<(), String> {
        let within = |value: u32, low: u32, high: u32, name: &str| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(format!("{name}: between {low} and {high}"))
            }
        };
        if self.name.trim().is_empty() || self.name.chars().count() > 64 {
            return Err("name: 1-64 characters".into());
        }
        if self.tags.len() > 10 || self.tags.iter().any(|t| t.trim().is_empty()) {
            return Err("tags: at most 10, none empty".into());
        }
        if !(1..=5).contains(&self.min_difficulty)
            || !(self.min_difficulty..=5).contains(&self.max_difficulty)
        {
            return Err("min_difficulty: 1 to 5, and no more than max_difficulty (up to 5)".into());
        }
        within(self.questions, 1, 30, "questions")?;
        within(self.seconds_per_question, 5, 300, "seconds_per_question")?;
        within(self.pass_score, 1, self.questions, "pass_score")?;
        within(self.daily_attempts, 1, 50, "daily_attempts")?;
        within(self.reward_points, 0, 100_000, "reward_points")?;
        within(self.reward_chances, 0, 10, "reward_chances")?;
        if self.reward_chances > 0 && !has_pool {
            return Err("reward_chances: the quiz needs a pool to grant chances in".into());
        }
        Ok(())
    }
}
