//! The in-process backend: one mutex around a map, so every operation is atomic by construction. It serves a
//! single-instance deployment (and `cargo run`); several instances must share Redis instead.

mod credentials;
mod draws;
mod health;
mod idempotency;
mod locks;
mod pause;
mod quizzes;
mod rate_limits;
mod teams;
mod work_queues;

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::lottery::{self, Counters, Decision, DrawOutcome, DrawSpec, Forgotten, Won};
use super::quiz::{
    self, AnswerOutcome, AnswerSpec, Answered, AttemptQuestion, AttemptView, BoardEntry, BoardPage,
    NewAttempt,
};
use super::teams::{decide_join, JoinOutcome, JoinSpec, TeamSeats};
use super::{gcra, IdempotencyBegin, Keys, LockToken, RateDecision, StoreError};
use super::{
    Credentials, Health, Idempotency, Locks, LotteryStore, PauseFlags, QuizStore, RateLimits,
    TeamStore,
};
use crate::clock::{SharedClock, SystemClock};
use crate::config::RateLimitRule;

/// Expired entries are swept this often (in operations), so keys nobody reads again do not pile up.
const SWEEP_EVERY: u64 = 4096;

#[derive(Debug, Clone)]
enum Value {
    Flag,
    Count(i64),
    Text(String),
    Micros(u64),
    Idempotency {
        fingerprint: String,
        response: Option<Vec<u8>>,
    },
    Attempt(Box<Attempt>),
    Board(Box<Board>),
    /// A set of numbers, lowest first (free stock numbers).
    Numbers(BTreeSet<u32>),
    Team(Box<TeamSeats>),
    Queue(Box<work_queues::Queue>),
}

#[derive(Debug, Clone)]
struct Attempt {
    user_id: i64,
    questions: Vec<AttemptQuestion>,
    /// 1-based; `questions.len() + 1` once all are answered.
    current: u32,
    shown_at_ms: i64,
    expires_at_ms: i64,
    late_after_ms: i64,
    too_fast_ms: i64,
    answers: Vec<quiz::AnswerRecord>,
}

/// A sorted set: best value first, ties by user id.
#[derive(Debug, Clone, Default)]
struct Board {
    values: HashMap<i64, i64>,
    order: BTreeSet<(Reverse<i64>, i64)>,
}

#[derive(Debug)]
struct Entry {
    value: Value,
    expires_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    operations: u64,
}

impl Inner {
    /// The live entry under `key`, dropping it first if it has expired.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        let expired = self
            .entries
            .get(key)
            .is_some_and(|e| e.expires_at.is_some_and(|at| at <= now));
        if expired {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    fn put(&mut self, key: String, value: Value, ttl: Option<Duration>, now: Instant) {
        let expires_at = ttl.map(|ttl| now + ttl);
        self.entries.insert(key, Entry { value, expires_at });
    }

    fn count(&mut self, key: &str, now: Instant) -> u32 {
        match self.live(key, now).map(|e| &e.value) {
            Some(Value::Count(n)) => u32::try_from(*n).unwrap_or(0),
            _ => 0,
        }
    }

    /// Adds `delta` to a counter, never below 0 (as `undo_draw.lua`), keeping its expiry (or setting `ttl` on a
    /// new one).
    fn bump(&mut self, key: &str, delta: i64, ttl: Option<Duration>, now: Instant) {
        let current = i64::from(self.count(key, now));
        let expires_at = self
            .entries
            .get(key)
            .and_then(|e| e.expires_at)
            .or(ttl.map(|ttl| now + ttl));
        self.entries.insert(
            key.to_owned(),
            Entry {
                value: Value::Count((current + delta).max(0)),
                expires_at,
            },
        );
    }

    /// The numbers under `key`, created empty if absent.
    fn numbers(&mut self, key: &str, now: Instant) -> &mut BTreeSet<u32> {
        if !matches!(
            self.live(key, now).map(|e| &e.value),
            Some(Value::Numbers(_))
        ) {
            self.put(key.to_owned(), Value::Numbers(BTreeSet::new()), None, now);
        }
        match self.entries.get_mut(key).map(|e| &mut e.value) {
            Some(Value::Numbers(numbers)) => numbers,
            _ => unreachable!("just put"),
        }
    }

    fn tick(&mut self, now: Instant) {
        self.operations += 1;
        if self.operations.is_multiple_of(SWEEP_EVERY) {
            self.entries
                .retain(|_, e| e.expires_at.is_none_or(|at| at > now));
        }
    }
}

pub struct MemoryStore {
    keys: Keys,
    epoch: Instant,
    /// Expiries follow this clock, so tests move time instead of sleeping.
    clock: SharedClock,
    clock_epoch: DateTime<Utc>,
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new(key_prefix: &str) -> Self {
        Self::with_clock(key_prefix, Arc::new(SystemClock))
    }

    pub fn with_clock(key_prefix: &str, clock: SharedClock) -> Self {
        Self {
            keys: Keys::new(key_prefix),
            epoch: Instant::now(),
            clock_epoch: clock.now(),
            clock,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The clock's time as an instant on this store's own timeline (a clock set before the store's start reads as
    /// its start).
    fn now(&self) -> Instant {
        let elapsed = (self.clock.now() - self.clock_epoch)
            .to_std()
            .unwrap_or_default();
        self.epoch + elapsed
    }

    /// Runs `f` with the map locked: the whole of one store operation happens inside.
    fn with<T>(&self, f: impl FnOnce(&mut Inner, Instant) -> T) -> T {
        let now = self.now();
        // A panic inside `f` cannot leave a half-applied operation (each writes at most once, last), so a
        // poisoned lock is safe to keep using.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.tick(now);
        f(&mut inner, now)
    }
}
