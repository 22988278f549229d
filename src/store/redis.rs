//! The Redis backend: each operation is one command or one Lua script, so it is atomic across every instance.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::lottery::{self, DrawOutcome, DrawSpec, Won};
use super::quiz::{
    AnswerOutcome, AnswerRecord, AnswerSpec, Answered, AttemptView, BoardEntry, BoardPage,
    NewAttempt,
};
use super::{IdempotencyBegin, Keys, LockToken, RateDecision, StateStore, StoreError};
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
    quiz_answer: Script,
    quiz_view: Script,
    board_submit: Script,
    board_page: Script,
}

impl Scripts {
    fn load() -> Self {
        Self {
            rate_limit: Script::new(include_str!("lua/rate_limit.lua")),
            compare_and_delete: Script::new(include_str!("lua/compare_and_delete.lua")),
            idempotency_begin: Script::new(include_str!("lua/idempotency_begin.lua")),
            idempotency_complete: Script::new(include_str!("lua/idempotency_complete.lua")),
            idempotency_abandon: Script::new(include_str!("lua/idempotency_abandon.lua")),
            draw: Script::new(include_str!("lua/draw.lua")),
            undo_draw: Script::new(include_str!("lua/undo_draw.lua")),
            raise_counters: Script::new(include_str!("lua/raise_counters.lua")),
            quiz_answer: Script::new(include_str!("lua/quiz_answer.lua")),
            quiz_view: Script::new(include_str!("lua/quiz_view.lua")),
            board_submit: Script::new(include_str!("lua/board_submit.lua")),
            board_page: Script::new(include_str!("lua/board_page.lua")),
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

impl RedisStore {
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        // Fail fast: a request must not hang for the manager's default ten seconds of reconnect attempts.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
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

#[async_trait]
impl StateStore for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let pong: String = redis::cmd("PING")
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Protocol(format!("PING answered {pong}")))
        }
    }

    async fn rate_limit_step(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
        spend: bool,
    ) -> Result<RateDecision, StoreError> {
        let (allowed, remaining, retry_after_us): (i64, i64, i64) = self
            .scripts
            .rate_limit
            .key(self.keys.rate_limit(bucket, subject))
            .arg(rule.limit)
            .arg(rule.window_secs)
            .arg(u8::from(spend))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(RateDecision {
            allowed: allowed == 1,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
            retry_after: Duration::from_micros(u64::try_from(retry_after_us.max(0)).unwrap_or(0)),
        })
    }

    async fn lock(&self, name: &str, ttl: Duration) -> Result<Option<LockToken>, StoreError> {
        let token = LockToken::random();
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.keys.lock(name))
            .arg(&token.0)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(taken.map(|_| token))
    }

    async fn unlock(&self, name: &str, token: &LockToken) -> Result<bool, StoreError> {
        let released: i64 = self
            .scripts
            .compare_and_delete
            .key(self.keys.lock(name))
            .arg(&token.0)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(released == 1)
    }

    async fn dedupe(&self, scope: &str, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let first: Option<String> = redis::cmd("SET")
            .arg(self.keys.dedupe(scope, id))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(first.is_some())
    }

    async fn idempotency_begin(
        &self,
        key: &str,
        fingerprint: &str,
        pending_ttl: Duration,
    ) -> Result<IdempotencyBegin, StoreError> {
        let reply: Vec<Vec<u8>> = self
            .scripts
            .idempotency_begin
            .key(self.keys.idempotency(key))
            .arg(fingerprint)
            .arg(millis(pending_ttl))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        match reply.as_slice() {
            [state] if state == b"started" => Ok(IdempotencyBegin::Started),
            [state] if state == b"in_progress" => Ok(IdempotencyBegin::InProgress),
            [state] if state == b"mismatch" => Ok(IdempotencyBegin::Mismatch),
            [state, response] if state == b"completed" => {
                Ok(IdempotencyBegin::Completed(response.clone()))
            }
            _ => Err(StoreError::Protocol(
                "idempotency_begin: unknown reply".into(),
            )),
        }
    }

    async fn idempotency_complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let _: i64 = self
            .scripts
            .idempotency_complete
            .key(self.keys.idempotency(key))
            .arg(fingerprint)
            .arg(response)
            .arg(millis(ttl))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn idempotency_abandon(&self, key: &str, fingerprint: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .scripts
            .idempotency_abandon
            .key(self.keys.idempotency(key))
            .arg(fingerprint)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn set_paused(&self, campaign: &str, paused: bool) -> Result<(), StoreError> {
        let key = self.keys.paused(campaign);
        let mut conn = self.conn();
        if paused {
            let _: () = conn.set(key, 1).await.map_err(unavailable)?;
        } else {
            let _: () = conn.del(key).await.map_err(unavailable)?;
        }
        Ok(())
    }

    async fn is_paused(&self, campaign: &str) -> Result<bool, StoreError> {
        let exists: bool = self
            .conn()
            .exists(self.keys.paused(campaign))
            .await
            .map_err(unavailable)?;
        Ok(exists)
    }

    async fn credential(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .get(self.keys.credential(name))
            .await
            .map_err(unavailable)
    }

    async fn put_credential(
        &self,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let _: () = redis::cmd("SET")
            .arg(self.keys.credential(name))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn expire_credential_if(&self, name: &str, value: &str) -> Result<bool, StoreError> {
        // The same compare-and-delete as a lock release.
        let deleted: i64 = self
            .scripts
            .compare_and_delete
            .key(self.keys.credential(name))
            .arg(value)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(deleted == 1)
    }

    async fn take_credential(&self, name: &str) -> Result<Option<String>, StoreError> {
        redis::cmd("GETDEL")
            .arg(self.keys.credential(name))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn draw(&self, spec: &DrawSpec) -> Result<DrawOutcome, StoreError> {
        let keys = lottery::keys(
            &self.keys.pool(&spec.campaign, spec.pool_id),
            self.keys.paused(&spec.campaign),
            spec,
        );
        let limit = |v: Option<u32>| v.map_or(-1, i64::from);
        let mut invocation = self.scripts.draw.prepare_invoke();
        for key in &keys {
            invocation.key(key);
        }
        let (after, tier) = spec.guarantee.map_or((0, 0), |g| (g.after, g.tier));
        invocation
            .arg(spec.prizes.len())
            .arg(spec.random & ((1u64 << 53) - 1))
            .arg(after)
            .arg(tier)
            .arg(spec.consolation.map_or(0, |i| i + 1))
            .arg(lottery::REQUEST_TTL_MS)
            .arg(lottery::DAY_TTL_MS);
        for prize in &spec.prizes {
            invocation
                .arg(prize.id)
                .arg(prize.tier)
                .arg(prize.weight)
                .arg(limit(prize.stock))
                .arg(limit(prize.per_user_total))
                .arg(limit(prize.per_user_daily));
        }
        let reply: Vec<String> = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let won = |record: Option<&String>| {
            record
                .and_then(|r| lottery::decode(r))
                .ok_or_else(|| StoreError::Protocol("draw: unreadable record".into()))
        };
        match reply.first().map(String::as_str) {
            Some("paused") => Ok(DrawOutcome::Paused),
            Some("no_chance") => Ok(DrawOutcome::NoChance),
            Some("out_of_stock") => Ok(DrawOutcome::OutOfStock),
            Some("won") => Ok(DrawOutcome::Won(won(reply.get(1))?)),
            Some("replayed") => Ok(DrawOutcome::Replayed(won(reply.get(1))?)),
            _ => Err(StoreError::Protocol("draw: unknown reply".into())),
        }
    }

    async fn undo_draw(&self, spec: &DrawSpec, won: &Won) -> Result<(), StoreError> {
        let keys = lottery::keys(
            &self.keys.pool(&spec.campaign, spec.pool_id),
            self.keys.paused(&spec.campaign),
            spec,
        );
        let index = lottery::index_of(spec, won.prize_id)
            .ok_or_else(|| StoreError::Protocol("undo_draw: prize is not in the pool".into()))?;
        let mut invocation = self.scripts.undo_draw.prepare_invoke();
        for key in &keys {
            invocation.key(key);
        }
        let after = spec.guarantee.map_or(0, |g| g.after);
        let _: i64 = invocation
            .arg(index + 1)
            .arg(won.previous_since)
            .arg(after)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn restore_pool_counters(
        &self,
        campaign: &str,
        pool_id: i64,
        values: &[lottery::CounterValue],
    ) -> Result<(), StoreError> {
        let base = self.keys.pool(campaign, pool_id);
        // In batches: one script call per batch keeps each atomic step short.
        for batch in values.chunks(500) {
            let mut invocation = self.scripts.raise_counters.prepare_invoke();
            for counter in batch {
                invocation.key(format!("{base}:{}", counter.name));
                invocation.arg(counter.value).arg(if counter.expires {
                    lottery::DAY_TTL_MS
                } else {
                    0
                });
            }
            let _: i64 = invocation
                .invoke_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
        }
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
        let _: i64 = self.conn().incr(key, count).await.map_err(unavailable)?;
        Ok(())
    }

    async fn start_quiz(&self, attempt: &NewAttempt) -> Result<(), StoreError> {
        let key = self
            .keys
            .quiz_attempt(&attempt.campaign, &attempt.attempt_id);
        let mut fields: Vec<(String, String)> = vec![
            ("user".into(), attempt.user_id.to_string()),
            ("n".into(), attempt.questions.len().to_string()),
            ("cur".into(), "1".into()),
            ("shown".into(), attempt.started_at_ms.to_string()),
            ("exp".into(), attempt.expires_at_ms.to_string()),
            ("late".into(), attempt.late_after_ms.to_string()),
            ("fast".into(), attempt.too_fast_ms.to_string()),
        ];
        for (i, q) in attempt.questions.iter().enumerate() {
            let n = i + 1;
            let kind = if q.multiple { 'm' } else { 's' };
            fields.push((format!("q{n}"), q.public.clone()));
            fields.push((format!("v{n}"), format!("{kind}:{}", q.labels)));
            fields.push((format!("k{n}"), q.correct.clone()));
            fields.push((format!("e{n}"), q.explanation.clone()));
        }
        redis::pipe()
            .atomic()
            .del(&key)
            .hset_multiple(&key, &fields)
            .pexpire(&key, millis(attempt.ttl) as i64)
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn answer_quiz(&self, spec: &AnswerSpec) -> Result<AnswerOutcome, StoreError> {
        let reply: Vec<String> = self
            .scripts
            .quiz_answer
            .key(self.keys.paused(&spec.campaign))
            .key(self.keys.quiz_attempt(&spec.campaign, &spec.attempt_id))
            .arg(spec.user_id)
            .arg(spec.number)
            .arg(&spec.chosen)
            .arg(spec.now_ms)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let records = |from: usize| -> Result<Vec<AnswerRecord>, StoreError> {
            reply[from.min(reply.len())..]
                .iter()
                .map(|r| {
                    AnswerRecord::decode(r).ok_or_else(|| {
                        StoreError::Protocol("quiz_answer: unreadable record".into())
                    })
                })
                .collect()
        };
        let field = |i: usize| {
            reply
                .get(i)
                .cloned()
                .ok_or_else(|| StoreError::Protocol("quiz_answer: short reply".into()))
        };
        match reply.first().map(String::as_str) {
            Some("paused") => Ok(AnswerOutcome::Paused),
            Some("none") => Ok(AnswerOutcome::NotFound),
            Some("expired") => Ok(AnswerOutcome::Expired),
            Some("invalid") => Ok(AnswerOutcome::InvalidOption),
            Some("not_current") => Ok(AnswerOutcome::NotCurrent {
                current: field(1)?.parse().unwrap_or(0),
            }),
            Some("finished") => Ok(AnswerOutcome::Finished(records(1)?)),
            Some("answered") => {
                let record = AnswerRecord::decode(&field(1)?)
                    .ok_or_else(|| StoreError::Protocol("quiz_answer: unreadable record".into()))?;
                let next = field(4)?;
                let finished = if next.is_empty() {
                    Some(records(5)?)
                } else {
                    None
                };
                Ok(AnswerOutcome::Answered(Box::new(Answered {
                    record,
                    correct: field(2)?,
                    explanation: field(3)?,
                    next: (!next.is_empty()).then_some(next),
                    finished,
                })))
            }
            _ => Err(StoreError::Protocol("quiz_answer: unknown reply".into())),
        }
    }

    async fn quiz_attempt(
        &self,
        campaign: &str,
        attempt_id: &str,
        user_id: i64,
    ) -> Result<Option<AttemptView>, StoreError> {
        let reply: Vec<String> = self
            .scripts
            .quiz_view
            .key(self.keys.quiz_attempt(campaign, attempt_id))
            .arg(user_id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        if reply.is_empty() {
            return Ok(None);
        }
        let bad = || StoreError::Protocol("quiz_view: unreadable reply".into());
        let number = |i: usize| {
            reply
                .get(i)
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(bad)
        };
        let answers = reply[4.min(reply.len())..]
            .iter()
            .map(|r| AnswerRecord::decode(r).ok_or_else(bad))
            .collect::<Result<_, _>>()?;
        Ok(Some(AttemptView {
            current: number(0)? as u32,
            count: number(1)? as u32,
            shown_at_ms: number(2)?,
            current_public: reply.get(3).filter(|q| !q.is_empty()).cloned(),
            answers,
        }))
    }

    async fn board_submit(
        &self,
        campaign: &str,
        entries: &[BoardEntry],
        complete: bool,
    ) -> Result<(), StoreError> {
        let batches: Vec<&[BoardEntry]> = if entries.is_empty() {
            vec![&[]]
        } else {
            entries.chunks(500).collect()
        };
        let last = batches.len() - 1;
        for (i, batch) in batches.into_iter().enumerate() {
            let mut invocation = self.scripts.board_submit.prepare_invoke();
            invocation
                .key(self.keys.board(campaign))
                .key(self.keys.board_complete(campaign))
                .arg(if complete && i == last { "1" } else { "0" });
            for entry in batch {
                invocation.arg(entry.user_id).arg(entry.value);
            }
            let _: i64 = invocation
                .invoke_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn board_page(
        &self,
        campaign: &str,
        top: u32,
        user_id: i64,
    ) -> Result<BoardPage, StoreError> {
        let reply: Vec<String> = self
            .scripts
            .board_page
            .key(self.keys.board(campaign))
            .key(self.keys.board_complete(campaign))
            .arg(top.max(1))
            .arg(user_id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let bad = || StoreError::Protocol("board_page: unreadable reply".into());
        // Sorted-set scores come back as doubles; every value we store is an exact integer.
        let value = |text: &str| {
            text.parse::<f64>()
                .map(|v| v.round() as i64)
                .map_err(|_| bad())
        };
        if reply.len() < 3 {
            return Err(bad());
        }
        let mine = match reply[1].parse::<u64>() {
            Ok(rank) => Some((rank + 1, value(&reply[2])?)),
            Err(_) => None,
        };
        let top = reply[3..]
            .chunks(2)
            .map(|pair| match pair {
                [member, score] => Ok(BoardEntry {
                    user_id: member.parse().map_err(|_| bad())?,
                    value: value(score)?,
                }),
                _ => Err(bad()),
            })
            .collect::<Result<_, _>>()?;
        Ok(BoardPage {
            built: reply[0] == "1",
            top,
            mine,
        })
    }
}
