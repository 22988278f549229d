//! The state store: hot state shared by every instance (rate limits, locks, dedupe keys, idempotency records,
//! pause flags; later games, quotas and stock). It exposes domain operations, each atomic on its own, never raw
//! get/set, so a caller cannot check-then-act across round trips. Two backends keep one contract: `memory`
//! (a single instance, `cargo run`) and `redis` (production, any number of instances). Everything here can be
//! rebuilt from the database: the store never holds the only copy of anything a customer could lose.

pub mod lottery;
mod memory;
pub mod quiz;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret;

use crate::config::{RateLimitRule, StoreSettings};

pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("state store returned an unexpected value: {0}")]
    Protocol(String),
}

/// Outcome of one `rate_limit` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// Further requests allowed right now.
    pub remaining: u32,
    /// How long until the next request would be allowed (zero when allowed).
    pub retry_after: Duration,
}

/// Proof of holding a lock; only its holder can release it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockToken(pub String);

impl LockToken {
    fn random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }
}

/// What `idempotency_begin` found under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// Nobody ran this key yet: the caller now owns it and must complete or abandon it.
    Started,
    /// Another request with the same key and body is running now.
    InProgress,
    /// Already done: the stored response.
    Completed(Vec<u8>),
    /// The key was used for a different request body.
    Mismatch,
}

#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// `memory` or `redis`, for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    async fn ping(&self) -> Result<(), StoreError>;

    /// One GCRA decision for `subject` in `bucket` (a smooth sliding window: `rule.limit` requests per
    /// `rule.window_secs`, bursts up to the limit). With `spend` the request is counted when allowed; without,
    /// the budget is only looked at.
    async fn rate_limit_step(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
        spend: bool,
    ) -> Result<RateDecision, StoreError>;

    /// Counts one request of `subject` against `bucket`.
    async fn rate_limit(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
    ) -> Result<RateDecision, StoreError> {
        self.rate_limit_step(bucket, subject, rule, true).await
    }

    /// What `rate_limit` would decide now, counting nothing: for budgets spent only by failures.
    async fn rate_limit_peek(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
    ) -> Result<RateDecision, StoreError> {
        self.rate_limit_step(bucket, subject, rule, false).await
    }

    /// Takes `name` for `ttl` if nobody holds it. The lock frees itself at expiry if its holder dies.
    async fn lock(&self, name: &str, ttl: Duration) -> Result<Option<LockToken>, StoreError>;

    /// Releases `name` only if `token` still holds it (compare-and-delete). Returns whether it did.
    async fn unlock(&self, name: &str, token: &LockToken) -> Result<bool, StoreError>;

    /// Records `id` in `scope` for `ttl`; true the first time it is seen, false for a repeat.
    async fn dedupe(&self, scope: &str, id: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Claims `key` for a request whose body hashes to `fingerprint`. A claim that is neither completed nor
    /// abandoned within `pending_ttl` (its holder died) lapses, so the key can be retried.
    async fn idempotency_begin(
        &self,
        key: &str,
        fingerprint: &str,
        pending_ttl: Duration,
    ) -> Result<IdempotencyBegin, StoreError>;

    /// Stores the response of a claimed key, kept for `ttl`.
    async fn idempotency_complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Drops a claim that has no response (the action failed unexpectedly), so the client can retry.
    async fn idempotency_abandon(&self, key: &str, fingerprint: &str) -> Result<(), StoreError>;

    /// The campaign circuit breaker. Grant-type operations check it inside their own atomic step.
    async fn set_paused(&self, campaign: &str, paused: bool) -> Result<(), StoreError>;

    async fn is_paused(&self, campaign: &str) -> Result<bool, StoreError>;

    /// A shared short-lived credential (a WeChat access token or ticket, a session key, an OAuth state).
    async fn credential(&self, name: &str) -> Result<Option<String>, StoreError>;

    async fn put_credential(
        &self,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Drops the credential only if it is still `value` (compare-and-delete), so an instance that saw a token
    /// fail cannot throw away the fresh one another instance just fetched. Returns whether it did.
    async fn expire_credential_if(&self, name: &str, value: &str) -> Result<bool, StoreError>;

    /// Reads and deletes in one step: a single-use credential can be taken once.
    async fn take_credential(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// One lottery draw, in one atomic step: the campaign's pause flag, the request id, a chance, the per-user
    /// limits, the guarantee counter, a weighted pick among prizes in stock, and every counter it moves.
    async fn draw(&self, spec: &lottery::DrawSpec) -> Result<lottery::DrawOutcome, StoreError>;

    /// Compensates a draw whose database record could not be written: puts back every counter it moved.
    async fn undo_draw(
        &self,
        spec: &lottery::DrawSpec,
        won: &lottery::Won,
    ) -> Result<(), StoreError>;

    /// Raises each of a pool's counters to at least `values` (what the database records). Never lowers one, so
    /// a draw in flight (counted in the store, not yet in the database) is not undone.
    async fn restore_pool_counters(
        &self,
        campaign: &str,
        pool_id: i64,
        values: &[lottery::CounterValue],
    ) -> Result<(), StoreError>;

    /// Adds draw chances (after their grant was recorded in the database).
    async fn add_chances(
        &self,
        campaign: &str,
        pool_id: i64,
        user_id: i64,
        count: u32,
    ) -> Result<(), StoreError>;

    /// Writes a new quiz attempt (its questions, answers and timing), kept for `attempt.ttl`.
    async fn start_quiz(&self, attempt: &quiz::NewAttempt) -> Result<(), StoreError>;

    /// One answer, in one atomic step: the campaign's pause flag, the attempt's owner, expiry and current
    /// question, the option labels, then the judgement (by `spec.now_ms`), recorded, and the next question.
    async fn answer_quiz(&self, spec: &quiz::AnswerSpec)
        -> Result<quiz::AnswerOutcome, StoreError>;

    /// Where the user's attempt stands, if the store still has it.
    async fn quiz_attempt(
        &self,
        campaign: &str,
        attempt_id: &str,
        user_id: i64,
    ) -> Result<Option<quiz::AttemptView>, StoreError>;

    /// Raises each user's leaderboard value to at least `entry.value` (never lowers one: values only improve,
    /// so racing writers and a rebuild agree). `complete` marks the board as holding every entry (a rebuild).
    async fn board_submit(
        &self,
        campaign: &str,
        entries: &[quiz::BoardEntry],
        complete: bool,
    ) -> Result<(), StoreError>;

    /// The top `top` entries, best first, and the user's rank, in one read.
    async fn board_page(
        &self,
        campaign: &str,
        top: u32,
        user_id: i64,
    ) -> Result<quiz::BoardPage, StoreError>;
}

pub type SharedStore = Arc<dyn StateStore>;

/// Opens the backend named by `store.url`.
pub async fn connect(settings: &StoreSettings) -> Result<SharedStore, StoreError> {
    let url = settings.url.expose_secret();
    if url == "memory://" {
        Ok(Arc::new(MemoryStore::new(&settings.key_prefix)))
    } else {
        Ok(Arc::new(
            RedisStore::connect(url, &settings.key_prefix).await?,
        ))
    }
}

/// Key names, shared by both backends so that they name the same things the same way:
/// `{prefix}:{domain}:{entity}:{id}`, with the `{c:<campaign>}` hash tag on keys one script uses together.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub(crate) fn rate_limit(&self, bucket: &str, subject: &str) -> String {
        format!("{}:ratelimit:{bucket}:{subject}", self.prefix)
    }

    pub(crate) fn lock(&self, name: &str) -> String {
        format!("{}:lock:{name}", self.prefix)
    }

    pub(crate) fn dedupe(&self, scope: &str, id: &str) -> String {
        format!("{}:dedupe:{scope}:{id}", self.prefix)
    }

    pub(crate) fn idempotency(&self, key: &str) -> String {
        format!("{}:idem:{key}", self.prefix)
    }

    pub(crate) fn credential(&self, name: &str) -> String {
        format!("{}:cred:{name}", self.prefix)
    }

    /// All keys of one pool share the campaign's hash tag, so one script can use them together on a cluster.
    pub(crate) fn pool(&self, campaign: &str, pool_id: i64) -> String {
        format!("{}:lottery:{{c:{campaign}}}:p{pool_id}", self.prefix)
    }

    pub(crate) fn quiz_attempt(&self, campaign: &str, attempt_id: &str) -> String {
        format!("{}:quiz:{{c:{campaign}}}:a:{attempt_id}", self.prefix)
    }

    pub(crate) fn board(&self, campaign: &str) -> String {
        format!("{}:quiz:{{c:{campaign}}}:board", self.prefix)
    }

    /// Present while the board holds every entry; a flush drops it with the board, which then gets rebuilt.
    pub(crate) fn board_complete(&self, campaign: &str) -> String {
        format!("{}:quiz:{{c:{campaign}}}:board:complete", self.prefix)
    }

    pub(crate) fn paused(&self, campaign: &str) -> String {
        format!("{}:campaign:{{c:{campaign}}}:paused", self.prefix)
    }
}

/// The GCRA step, in microseconds: given the stored theoretical arrival time (if any), decide and return the new
/// one to store. The Redis script `lua/rate_limit.lua` does the same arithmetic on the server's clock.
pub(crate) fn gcra(
    now_us: u64,
    stored_tat_us: Option<u64>,
    rule: RateLimitRule,
) -> (RateDecision, Option<u64>) {
    let window_us = rule.window_secs.saturating_mul(1_000_000);
    let interval_us = (window_us / u64::from(rule.limit)).max(1);
    let tat = stored_tat_us.unwrap_or(now_us).max(now_us);
    let new_tat = tat + interval_us;
    let allow_at = new_tat.saturating_sub(window_us);
    if now_us < allow_at {
        let decision = RateDecision {
            allowed: false,
            remaining: 0,
            retry_after: Duration::from_micros(allow_at - now_us),
        };
        return (decision, None);
    }
    let remaining = (window_us - (new_tat - now_us)) / interval_us;
    let decision = RateDecision {
        allowed: true,
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        retry_after: Duration::ZERO,
    };
    (decision, Some(new_tat))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: RateLimitRule = RateLimitRule {
        limit: 3,
        window_secs: 3,
    };

    #[test]
    fn gcra_allows_a_burst_up_to_the_limit_then_refuses() {
        let mut tat = None;
        for expected_remaining in [2, 1, 0] {
            let (decision, new_tat) = gcra(1_000_000, tat, RULE);
            assert!(decision.allowed);
            assert_eq!(decision.remaining, expected_remaining);
            tat = new_tat;
        }
        let (decision, new_tat) = gcra(1_000_000, tat, RULE);
        assert!(!decision.allowed);
        assert_eq!(decision.retry_after, Duration::from_secs(1));
        assert_eq!(new_tat, None, "a refusal must not consume capacity");
    }

    #[test]
    fn gcra_refills_one_request_per_interval() {
        let mut tat = None;
        for _ in 0..3 {
            tat = gcra(0, tat, RULE).1;
        }
        assert!(!gcra(999_999, tat, RULE).0.allowed);
        assert!(gcra(1_000_000, tat, RULE).0.allowed);
    }
}
