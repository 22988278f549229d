//! The state store: hot state shared by every instance (rate limits, locks, dedupe keys, idempotency records,
//! pause flags; later games, quotas and stock). It exposes domain operations, each atomic on its own, never raw
//! get/set, so a caller cannot check-then-act across round trips. Two backends keep one contract: `memory`
//! (a single instance, `cargo run`) and `redis` (production, any number of instances). Each concern is one small
//! trait in its own file; a new domain adds its trait and one file per backend, and `StateStore` is them all.
//! Everything here can be rebuilt from the database: the store never holds the only copy of anything a
//! customer could lose.

mod credentials;
mod health;
mod idempotency;
mod locks;
pub mod lottery;
mod memory;
mod pause;
pub mod quiz;
mod rate_limits;
mod redis;
pub mod teams;
mod work_queue;

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::config::{RateLimitRule, StoreSettings};

pub use self::credentials::Credentials;
pub use self::health::Health;
pub use self::idempotency::Idempotency;
pub use self::locks::Locks;
pub use self::lottery::LotteryStore;
pub use self::memory::MemoryStore;
pub use self::pause::PauseFlags;
pub use self::quiz::QuizStore;
pub use self::rate_limits::RateLimits;
pub use self::redis::{RedisStore, RedisTimeouts};
pub use self::teams::TeamStore;
pub use self::work_queue::{QueueDepth, Work, WorkQueue};

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

/// Every concern in one bound: what the application holds. Each backend implements the concerns one by one
/// (`memory/` and `redis/`, a file each); anything that implements them all is a `StateStore`.
pub trait StateStore:
    Health
    + RateLimits
    + Locks
    + Idempotency
    + PauseFlags
    + Credentials
    + LotteryStore
    + QuizStore
    + TeamStore
    + WorkQueue
{
}

impl<T> StateStore for T where
    T: Health
        + RateLimits
        + Locks
        + Idempotency
        + PauseFlags
        + Credentials
        + LotteryStore
        + QuizStore
        + TeamStore
        + WorkQueue
{
}

pub type SharedStore = Arc<dyn StateStore>;

/// Opens the backend named by `store.url`.
pub async fn connect(settings: &StoreSettings) -> Result<SharedStore, StoreError> {
    let url = settings.url.expose_secret();
    if url == "memory://" {
        Ok(Arc::new(MemoryStore::new(&settings.key_prefix)))
    } else {
        let timeouts = RedisTimeouts {
            connect: Duration::from_millis(settings.connect_timeout_ms),
            response: Duration::from_millis(settings.response_timeout_ms),
            retries: settings.retries,
        };
        Ok(Arc::new(
            RedisStore::connect_with(url, &settings.key_prefix, timeouts).await?,
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

    /// A team's seats (a hash in Redis); present means hydrated.
    pub(crate) fn team(&self, campaign: &str, team_id: i64) -> String {
        format!("{}:team:{{c:{campaign}}}:t{team_id}", self.prefix)
    }

    /// Which team of the activity a customer sits in.
    pub(crate) fn team_member(&self, campaign: &str, activity_id: i64, user_id: i64) -> String {
        format!(
            "{}:team:{{c:{campaign}}}:a{activity_id}:u{user_id}",
            self.prefix
        )
    }

    /// A work queue (a Redis stream with one consumer group).
    pub(crate) fn queue(&self, name: &str) -> String {
        format!("{}:queue:{name}", self.prefix)
    }

    pub(crate) fn paused(&self, campaign: &str) -> String {
        format!("{}:campaign:{{c:{campaign}}}:paused", self.prefix)
    }
}

/// The GCRA step, in microseconds: given the stored theoretical arrival time (if any), decide and return the new
/// one to store. The Redis script `redis/rate_limit.lua` does the same arithmetic on the server's clock.
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

    /// Redis Cluster's slot of a key: CRC16 (XMODEM) of its hash tag (the text inside the first `{...}`, if not
    /// empty) or else of the whole key, modulo 16,384.
    fn cluster_slot(key: &str) -> u16 {
        let hashed = key
            .find('{')
            .and_then(|open| {
                let tag = &key[open + 1..];
                tag.find('}').map(|close| &tag[..close])
            })
            .filter(|tag| !tag.is_empty())
            .unwrap_or(key);
        crc16::State::<crc16::XMODEM>::calculate(hashed.as_bytes()) % 16_384
    }

    #[test]
    fn the_slot_function_agrees_with_redis_cluster() {
        // Read off a real cluster with `CLUSTER KEYSLOT` (scripts/redis-cluster.sh).
        assert_eq!(cluster_slot("foo"), 12_182);
        assert_eq!(cluster_slot("wxct:lottery:{c:abc}:p1"), 11_930);
        // An empty tag is no tag: the whole key is hashed.
        assert_ne!(cluster_slot("{}foo"), cluster_slot("foo"));
        assert_eq!(cluster_slot("a{c:x}b"), cluster_slot("zz{c:x}"));
    }

    /// A cluster runs a script only when all its keys live in one slot (else CROSSSLOT): every key a script or
    /// transaction uses together is a campaign's key, so each must carry the campaign's slot.
    #[test]
    fn every_key_one_atomic_step_uses_shares_its_campaigns_slot() {
        use super::lottery::{self, counter, DrawSpec, PrizeRule, Scope};

        let keys = Keys::new("wxc");
        let mut slots = std::collections::HashSet::new();
        for campaign in ["q4-2026-thanks", "q1-2027", "bench", "a", "c-1"] {
            let slot = cluster_slot(&keys.paused(campaign));
            slots.insert(slot);
            let prize = |id| PrizeRule {
                id,
                tier: 1,
                weight: 100,
                stock: Some(5),
                per_user_total: None,
                per_user_daily: None,
            };
            let spec = DrawSpec {
                campaign: campaign.into(),
                pool_id: 7,
                user_id: 42,
                request_id: "a0b1".into(),
                day: "2026-12-03".into(),
                prizes: vec![prize(1), prize(2)],
                guarantee: None,
                consolation: None,
                random: 0,
            };
            let pool = keys.pool(campaign, 7);
            // draw and undo_draw
            let mut together = lottery::keys(&pool, keys.paused(campaign), &spec);
            // hydrate, forget, restore_pool_counters, add_chances: counters under the pool's key
            for name in [
                counter::hydrated(Scope::Pool),
                counter::hydrated(Scope::User(42)),
                counter::stock(1),
                counter::free(1),
                counter::granted(42),
                counter::used(42),
                counter::since(42),
                counter::won(42, 1),
                counter::won_on(42, "2026-12-03", 1),
            ] {
                together.push(format!("{pool}:{name}"));
            }
            // answer_quiz (with the pause flag), board_submit, board_page
            together.push(keys.quiz_attempt(campaign, "attempt-1"));
            together.push(keys.board(campaign));
            together.push(keys.board_complete(campaign));
            // join_team, undo_join, close_team
            together.push(keys.team(campaign, 31));
            together.push(keys.team_member(campaign, 5, 42));
            for key in &together {
                assert_eq!(cluster_slot(key), slot, "{key} is not in {campaign}'s slot");
            }
        }
        assert!(slots.len() > 1, "campaigns spread over slots: {slots:?}");
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
