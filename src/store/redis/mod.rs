//! The Redis backend: each operation is one command or one Lua script, so it is atomic across every instance.

mod credentials;
mod draws;
mod health;
mod idempotency;
mod locks;
mod pause;
mod quizzes;
mod rate_limits;

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::lottery::{self, DrawOutcome, DrawSpec, Won};
use super::quiz::{
    AnswerOutcome, AnswerRecord, AnswerSpec, Answered, AttemptView, BoardEntry, BoardPage,
    NewAttempt,
};
use super::{
    Credentials, Health, Idempotency, Locks, LotteryStore, PauseFlags, QuizStore, RateLimits,
};
use super::{IdempotencyBegin, Keys, LockToken, RateDecision, StoreError};
use crate::config::RateLimitRule;

struct Scripts {
    rate_limit: Script,
    compare_and_delete: Script,
    idempotency_begin: Script,
    idempotency_complete: Script,
    idempotency_abandon: Script,
    draw: Script,
    undo_draw: Script,
    raise_counters: Script,
    hydrate: Script,
    add_chances: Script,
    quiz_answer: Script,
    quiz_view: Script,
    board_submit: Script,
    board_page: Script,
}

impl Scripts {
    fn load() -> Self {
        Self {
            rate_limit: Script::new(include_str!("rate_limit.lua")),
            compare_and_delete: Script::new(include_str!("compare_and_delete.lua")),
            idempotency_begin: Script::new(include_str!("idempotency_begin.lua")),
            idempotency_complete: Script::new(include_str!("idempotency_complete.lua")),
            idempotency_abandon: Script::new(include_str!("idempotency_abandon.lua")),
            draw: Script::new(include_str!("draw.lua")),
            undo_draw: Script::new(include_str!("undo_draw.lua")),
            raise_counters: Script::new(include_str!("raise_counters.lua")),
            hydrate: Script::new(include_str!("hydrate.lua")),
            add_chances: Script::new(include_str!("add_chances.lua")),
            quiz_answer: Script::new(include_str!("quiz_answer.lua")),
            quiz_view: Script::new(include_str!("quiz_view.lua")),
            board_submit: Script::new(include_str!("board_submit.lua")),
            board_page: Script::new(include_str!("board_page.lua")),
        }
    }
}

pub struct RedisStore {
    keys: Keys,
    connection: ConnectionManager,
    scripts: Scripts,
}

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Unavailable(error.into())
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// How long Redis may take before a request gives up on it (`store.*` in the configuration).
#[derive(Debug, Clone, Copy)]
pub struct RedisTimeouts {
    pub connect: Duration,
    pub response: Duration,
    pub retries: usize,
}

impl Default for RedisTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(2),
            retries: 2,
        }
    }
}

impl RedisStore {
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, key_prefix, RedisTimeouts::default()).await
    }

    pub async fn connect_with(
        url: &str,
        key_prefix: &str,
        timeouts: RedisTimeouts,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        // Fail fast: a request must not hang for the manager's default ten seconds of reconnect attempts.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(timeouts.retries)
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(timeouts.connect))
            .set_response_timeout(Some(timeouts.response));
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            keys: Keys::new(key_prefix),
            connection,
            scripts: Scripts::load(),
        })
    }

    fn conn(&self) -> ConnectionManager {
        self.connection.clone()
    }
}
