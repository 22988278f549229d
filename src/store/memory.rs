//! The in-process backend: one mutex around a map, so every operation is atomic by construction. It serves a
//! single-instance deployment (and `cargo run`); several instances must share Redis instead.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::lottery::{self, Counters, Decision, DrawOutcome, DrawSpec, Won};
use super::quiz::{
    self, AnswerOutcome, AnswerSpec, Answered, AttemptQuestion, AttemptView, BoardEntry, BoardPage,
    NewAttempt,
};
use super::{gcra, IdempotencyBegin, Keys, LockToken, RateDecision, StateStore, StoreError};
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

    /// Adds `delta` to a counter, keeping its expiry (or setting `ttl` on a new one).
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
                value: Value::Count(current + delta),
                expires_at,
            },
        );
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
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new(key_prefix: &str) -> Self {
        Self {
            keys: Keys::new(key_prefix),
            epoch: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Runs `f` with the map locked: the whole of one store operation happens inside.
    fn with<T>(&self, f: impl FnOnce(&mut Inner, Instant) -> T) -> T {
        let now = Instant::now();
        // A panic inside `f` cannot leave a half-applied operation (each writes at most once, last), so a
        // poisoned lock is safe to keep using.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.tick(now);
        f(&mut inner, now)
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn rate_limit_step(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
        spend: bool,
    ) -> Result<RateDecision, StoreError> {
        let key = self.keys.rate_limit(bucket, subject);
        Ok(self.with(|inner, now| {
            let now_us =
                u64::try_from(now.duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX);
            let stored = match inner.live(&key, now).map(|e| &e.value) {
                Some(Value::Micros(tat)) => Some(*tat),
                _ => None,
            };
            let (decision, new_tat) = gcra(now_us, stored, rule);
            if let Some(tat) = new_tat.filter(|_| spend) {
                let ttl = Duration::from_micros(tat - now_us);
                inner.put(key, Value::Micros(tat), Some(ttl), now);
            }
            decision
        }))
    }

    async fn lock(&self, name: &str, ttl: Duration) -> Result<Option<LockToken>, StoreError> {
        let key = self.keys.lock(name);
        Ok(self.with(|inner, now| {
            if inner.live(&key, now).is_some() {
                return None;
            }
            let token = LockToken::random();
            inner.put(key, Value::Text(token.0.clone()), Some(ttl), now);
            Some(token)
        }))
    }

    async fn unlock(&self, name: &str, token: &LockToken) -> Result<bool, StoreError> {
        let key = self.keys.lock(name);
        Ok(self.with(|inner, now| {
            let held = matches!(inner.live(&key, now), Some(Entry { value: Value::Text(t), .. }) if *t == token.0);
            if held {
                inner.entries.remove(&key);
            }
            held
        }))
    }

    async fn dedupe(&self, scope: &str, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let key = self.keys.dedupe(scope, id);
        Ok(self.with(|inner, now| {
            if inner.live(&key, now).is_some() {
                return false;
            }
            inner.put(key, Value::Flag, Some(ttl), now);
            true
        }))
    }

    async fn idempotency_begin(
        &self,
        key: &str,
        fingerprint: &str,
        pending_ttl: Duration,
    ) -> Result<IdempotencyBegin, StoreError> {
        let key = self.keys.idempotency(key);
        Ok(
            self.with(|inner, now| match inner.live(&key, now).map(|e| &e.value) {
                Some(Value::Idempotency {
                    fingerprint: stored,
                    response,
                }) => {
                    if stored != fingerprint {
                        IdempotencyBegin::Mismatch
                    } else if let Some(response) = response {
                        IdempotencyBegin::Completed(response.clone())
                    } else {
                        IdempotencyBegin::InProgress
                    }
                }
                _ => {
                    let value = Value::Idempotency {
                        fingerprint: fingerprint.to_owned(),
                        response: None,
                    };
                    inner.put(key, value, Some(pending_ttl), now);
                    IdempotencyBegin::Started
                }
            }),
        )
    }

    async fn idempotency_complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = self.keys.idempotency(key);
        self.with(|inner, now| {
            // Never overwrite another request's record (possible only if our claim lapsed meanwhile).
            let foreign = matches!(
                inner.live(&key, now).map(|e| &e.value),
                Some(Value::Idempotency { fingerprint: stored, .. }) if stored != fingerprint
            );
            if !foreign {
                let value = Value::Idempotency {
                    fingerprint: fingerprint.to_owned(),
                    response: Some(response.to_vec()),
                };
                inner.put(key, value, Some(ttl), now);
            }
        });
        Ok(())
    }

    async fn idempotency_abandon(&self, key: &str, fingerprint: &str) -> Result<(), StoreError> {
        let key = self.keys.idempotency(key);
        self.with(|inner, now| {
            let ours_and_pending = matches!(
                inner.live(&key, now).map(|e| &e.value),
                Some(Value::Idempotency { fingerprint: stored, response: None }) if stored == fingerprint
            );
            if ours_and_pending {
                inner.entries.remove(&key);
            }
        });
        Ok(())
    }

    async fn set_paused(&self, campaign: &str, paused: bool) -> Result<(), StoreError> {
        let key = self.keys.paused(campaign);
        self.with(|inner, now| {
            if paused {
                inner.put(key, Value::Flag, None, now);
            } else {
                inner.entries.remove(&key);
            }
        });
        Ok(())
    }

    async fn is_paused(&self, campaign: &str) -> Result<bool, StoreError> {
        let key = self.keys.paused(campaign);
        Ok(self.with(|inner, now| inner.live(&key, now).is_some()))
    }

    async fn credential(&self, name: &str) -> Result<Option<String>, StoreError> {
        let key = self.keys.credential(name);
        Ok(
            self.with(|inner, now| match inner.live(&key, now).map(|e| &e.value) {
                Some(Value::Text(value)) => Some(value.clone()),
                _ => None,
            }),
        )
    }

    async fn put_credential(
        &self,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = self.keys.credential(name);
        self.with(|inner, now| inner.put(key, Value::Text(value.to_owned()), Some(ttl), now));
        Ok(())
    }

    async fn expire_credential_if(&self, name: &str, value: &str) -> Result<bool, StoreError> {
        let key = self.keys.credential(name);
        Ok(self.with(|inner, now| {
            let same = matches!(inner.live(&key, now), Some(Entry { value: Value::Text(v), .. }) if v == value);
            if same {
                inner.entries.remove(&key);
            }
            same
        }))
    }

    async fn take_credential(&self, name: &str) -> Result<Option<String>, StoreError> {
        let key = self.keys.credential(name);
        Ok(self.with(|inner, now| {
            inner.live(&key, now)?;
            match inner.entries.remove(&key).map(|e| e.value) {
                Some(Value::Text(value)) => Some(value),
                _ => None,
            }
        }))
    }

    async fn draw(&self, spec: &DrawSpec) -> Result<DrawOutcome, StoreError> {
        let keys = lottery::keys(
            &self.keys.pool(&spec.campaign, spec.pool_id),
            self.keys.paused(&spec.campaign),
            spec,
        );
        Ok(self.with(|inner, now| {
            if inner.live(&keys[0], now).is_some() {
                return DrawOutcome::Paused;
            }
            if let Some(Value::Text(prior)) = inner.live(&keys[1], now).map(|e| e.value.clone()) {
                return lottery::decode(&prior)
                    .map_or(DrawOutcome::OutOfStock, DrawOutcome::Replayed);
            }
            let per_prize: Vec<(u32, u32, u32)> = (0..spec.prizes.len())
                .map(|i| {
                    let k = 5 + i * 3;
                    (
                        inner.count(&keys[k], now),
                        inner.count(&keys[k + 1], now),
                        inner.count(&keys[k + 2], now),
                    )
                })
                .collect();
            let since = inner.count(&keys[4], now);
            let counters = Counters {
                chances_granted: inner.count(&keys[2], now),
                chances_used: inner.count(&keys[3], now),
                since,
                per_prize: &per_prize,
            };
            let (index, guaranteed) = match lottery::decide(spec, &counters) {
                Decision::NoChance => return DrawOutcome::NoChance,
                Decision::OutOfStock => return DrawOutcome::OutOfStock,
                Decision::Prize(index, guaranteed) => (index, guaranteed),
            };
            let k = 5 + index * 3;
            inner.bump(&keys[k], 1, None, now);
            inner.bump(&keys[k + 1], 1, None, now);
            inner.bump(
                &keys[k + 2],
                1,
                Some(Duration::from_millis(lottery::DAY_TTL_MS)),
                now,
            );
            inner.bump(&keys[3], 1, None, now);
            let next = lottery::next_since(spec.guarantee, since, spec.prizes[index].tier);
            inner.put(keys[4].clone(), Value::Count(i64::from(next)), None, now);
            let won = Won {
                prize_id: spec.prizes[index].id,
                guaranteed,
                previous_since: since,
            };
            let ttl = Some(Duration::from_millis(lottery::REQUEST_TTL_MS));
            inner.put(
                keys[1].clone(),
                Value::Text(lottery::encode(&won)),
                ttl,
                now,
            );
            DrawOutcome::Won(won)
        }))
    }

    async fn undo_draw(&self, spec: &DrawSpec, won: &Won) -> Result<(), StoreError> {
        let keys = lottery::keys(
            &self.keys.pool(&spec.campaign, spec.pool_id),
            self.keys.paused(&spec.campaign),
            spec,
        );
        let Some(index) = lottery::index_of(spec, won.prize_id) else {
            return Err(StoreError::Protocol(
                "undo_draw: prize is not in the pool".into(),
            ));
        };
        self.with(|inner, now| {
            let k = 5 + index * 3;
            for key in [&keys[k], &keys[k + 1], &keys[k + 2], &keys[3]] {
                inner.bump(key, -1, None, now);
            }
            if spec.guarantee.is_some() {
                inner.put(
                    keys[4].clone(),
                    Value::Count(i64::from(won.previous_since)),
                    None,
                    now,
                );
            }
            inner.entries.remove(&keys[1]);
        });
        Ok(())
    }

    async fn restore_pool_counters(
        &self,
        campaign: &str,
        pool_id: i64,
        values: &[lottery::CounterValue],
    ) -> Result<(), StoreError> {
        let base = self.keys.pool(campaign, pool_id);
        self.with(|inner, now| {
            for counter in values {
                let key = format!("{base}:{}", counter.name);
                let current = inner.count(&key, now);
                if current < counter.value {
                    let ttl = counter
                        .expires
                        .then(|| Duration::from_millis(lottery::DAY_TTL_MS));
                    inner.bump(&key, i64::from(counter.value - current), ttl, now);
                }
            }
        });
        Ok(())
    }

    async fn add_chances(
        &self,
        campaign: &str,
        pool_id: i64,
        user_id: i64,
        count: u32,
    ) -> Result<(), StoreError> {
        let key = format!(
            "{}:{}",
            self.keys.pool(campaign, pool_id),
            lottery::counter::granted(user_id)
        );
        self.with(|inner, now| inner.bump(&key, i64::from(count), None, now));
        Ok(())
    }

    async fn start_quiz(&self, attempt: &NewAttempt) -> Result<(), StoreError> {
        let key = self
            .keys
            .quiz_attempt(&attempt.campaign, &attempt.attempt_id);
        let value = Value::Attempt(Box::new(Attempt {
            user_id: attempt.user_id,
            questions: attempt.questions.clone(),
            current: 1,
            shown_at_ms: attempt.started_at_ms,
            expires_at_ms: attempt.expires_at_ms,
            late_after_ms: attempt.late_after_ms,
            too_fast_ms: attempt.too_fast_ms,
            answers: Vec::new(),
        }));
        self.with(|inner, now| inner.put(key, value, Some(attempt.ttl), now));
        Ok(())
    }

    async fn answer_quiz(&self, spec: &AnswerSpec) -> Result<AnswerOutcome, StoreError> {
        let paused = self.keys.paused(&spec.campaign);
        let key = self.keys.quiz_attempt(&spec.campaign, &spec.attempt_id);
        Ok(self.with(|inner, now| {
            if inner.live(&paused, now).is_some() {
                return AnswerOutcome::Paused;
            }
            let Some(Entry {
                value: Value::Attempt(attempt),
                ..
            }) = inner.live(&key, now)
            else {
                return AnswerOutcome::NotFound;
            };
            if attempt.user_id != spec.user_id {
                return AnswerOutcome::NotFound;
            }
            let count = attempt.questions.len() as u32;
            if attempt.current > count {
                return AnswerOutcome::Finished(attempt.answers.clone());
            }
            if spec.now_ms > attempt.expires_at_ms {
                return AnswerOutcome::Expired;
            }
            if spec.number != attempt.current {
                return AnswerOutcome::NotCurrent {
                    current: attempt.current,
                };
            }
            let question = &attempt.questions[attempt.current as usize - 1];
            if !quiz::valid_choice(&question.labels, question.multiple, &spec.chosen) {
                return AnswerOutcome::InvalidOption;
            }
            let record = quiz::judge(
                &question.correct,
                &spec.chosen,
                spec.now_ms - attempt.shown_at_ms,
                attempt.late_after_ms,
                attempt.too_fast_ms,
            );
            let (correct, explanation) = (question.correct.clone(), question.explanation.clone());
            attempt.answers.push(record.clone());
            attempt.current += 1;
            attempt.shown_at_ms = spec.now_ms;
            let next = attempt
                .questions
                .get(attempt.current as usize - 1)
                .map(|q| q.public.clone());
            let finished = next.is_none().then(|| attempt.answers.clone());
            AnswerOutcome::Answered(Box::new(Answered {
                record,
                correct,
                explanation,
                next,
                finished,
            }))
        }))
    }

    async fn quiz_attempt(
        &self,
        campaign: &str,
        attempt_id: &str,
        user_id: i64,
    ) -> Result<Option<AttemptView>, StoreError> {
        let key = self.keys.quiz_attempt(campaign, attempt_id);
        Ok(self.with(|inner, now| match inner.live(&key, now) {
            Some(Entry {
                value: Value::Attempt(attempt),
                ..
            }) if attempt.user_id == user_id => Some(AttemptView {
                current: attempt.current,
                count: attempt.questions.len() as u32,
                current_public: attempt
                    .questions
                    .get(attempt.current as usize - 1)
                    .map(|q| q.public.clone()),
                shown_at_ms: attempt.shown_at_ms,
                answers: attempt.answers.clone(),
            }),
            _ => None,
        }))
    }

    async fn board_submit(
        &self,
        campaign: &str,
        entries: &[BoardEntry],
        complete: bool,
    ) -> Result<(), StoreError> {
        let (key, marker) = (
            self.keys.board(campaign),
            self.keys.board_complete(campaign),
        );
        self.with(|inner, now| {
            if !matches!(
                inner.live(&key, now),
                Some(Entry {
                    value: Value::Board(_),
                    ..
                })
            ) {
                inner.put(key.clone(), Value::Board(Box::default()), None, now);
            }
            if let Some(Entry {
                value: Value::Board(board),
                ..
            }) = inner.live(&key, now)
            {
                for entry in entries {
                    let old = board.values.get(&entry.user_id).copied();
                    if old.is_some_and(|old| old >= entry.value) {
                        continue;
                    }
                    if let Some(old) = old {
                        board.order.remove(&(Reverse(old), entry.user_id));
                    }
                    board.values.insert(entry.user_id, entry.value);
                    board.order.insert((Reverse(entry.value), entry.user_id));
                }
            }
            if complete {
                inner.put(marker, Value::Flag, None, now);
            }
        });
        Ok(())
    }

    async fn board_page(
        &self,
        campaign: &str,
        top: u32,
        user_id: i64,
    ) -> Result<BoardPage, StoreError> {
        let (key, marker) = (
            self.keys.board(campaign),
            self.keys.board_complete(campaign),
        );
        Ok(self.with(|inner, now| {
            let built = inner.live(&marker, now).is_some();
            let Some(Entry {
                value: Value::Board(board),
                ..
            }) = inner.live(&key, now)
            else {
                return BoardPage {
                    built,
                    top: Vec::new(),
                    mine: None,
                };
            };
            let entry =
                |&(Reverse(value), user_id): &(Reverse<i64>, i64)| BoardEntry { user_id, value };
            let mine = board.values.get(&user_id).map(|&value| {
                let rank = board.order.range(..(Reverse(value), user_id)).count() as u64 + 1;
                (rank, value)
            });
            BoardPage {
                built,
                top: board.order.iter().take(top as usize).map(entry).collect(),
                mine,
            }
        }))
    }
}
