//! The StateStore contract. Runs on the memory store by default and on Redis when TEST_REDIS_URL is set:
//! one suite, two backends.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use wxcampaign::config::RateLimitRule;
use wxcampaign::store::{IdempotencyBegin, LockToken, SharedStore};

use crate::helpers::{fresh_store, random_prefix};

async fn store() -> SharedStore {
    fresh_store(&random_prefix()).await
}

#[tokio::test]
async fn ping_answers() {
    store().await.ping().await.unwrap();
}

#[tokio::test]
async fn rate_limit_allows_the_limit_then_refuses_with_retry_after() {
    let store = store().await;
    let rule = RateLimitRule {
        limit: 3,
        window_secs: 30,
    };
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let decision = store.rate_limit("test", "alice", rule).await.unwrap();
        assert!(decision.allowed);
        remaining.push(decision.remaining);
    }
    assert_eq!(remaining, vec![2, 1, 0]);
    let refused = store.rate_limit("test", "alice", rule).await.unwrap();
    assert!(!refused.allowed);
    assert!(
        refused.retry_after > Duration::from_secs(9)
            && refused.retry_after <= Duration::from_secs(10)
    );
    assert!(
        store.rate_limit("test", "bob", rule).await.unwrap().allowed,
        "subjects are separate"
    );
    assert!(
        store
            .rate_limit("other", "alice", rule)
            .await
            .unwrap()
            .allowed,
        "buckets are separate"
    );
}

#[tokio::test]
async fn rate_limit_frees_capacity_as_time_passes() {
    let store = store().await;
    let rule = RateLimitRule {
        limit: 2,
        window_secs: 1,
    };
    assert!(store.rate_limit("t", "s", rule).await.unwrap().allowed);
    assert!(store.rate_limit("t", "s", rule).await.unwrap().allowed);
    assert!(!store.rate_limit("t", "s", rule).await.unwrap().allowed);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(store.rate_limit("t", "s", rule).await.unwrap().allowed);
}

#[tokio::test]
async fn rate_limit_admits_exactly_the_limit_under_concurrency() {
    let store = store().await;
    let rule = RateLimitRule {
        limit: 25,
        window_secs: 60,
    };
    let calls = (0..200).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .rate_limit("burst", "one", rule)
                .await
                .unwrap()
                .allowed
        })
    });
    let allowed = join_all(calls)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(allowed, 25);
}

#[tokio::test]
async fn a_lock_is_held_by_exactly_one_of_50_contenders() {
    let store = store().await;
    let contenders = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .lock("job:reconcile", Duration::from_secs(10))
                .await
                .unwrap()
        })
    });
    let tokens: Vec<LockToken> = join_all(contenders)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .collect();
    assert_eq!(tokens.len(), 1);
    assert!(store
        .lock("job:reconcile", Duration::from_secs(10))
        .await
        .unwrap()
        .is_none());

    let impostor = LockToken("not-the-holder".into());
    assert!(
        !store.unlock("job:reconcile", &impostor).await.unwrap(),
        "only the holder releases"
    );
    assert!(store
        .lock("job:reconcile", Duration::from_secs(10))
        .await
        .unwrap()
        .is_none());

    assert!(store.unlock("job:reconcile", &tokens[0]).await.unwrap());
    assert!(
        !store.unlock("job:reconcile", &tokens[0]).await.unwrap(),
        "released once"
    );
    assert!(store
        .lock("job:reconcile", Duration::from_secs(10))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_lock_frees_itself_when_it_expires() {
    let store = store().await;
    let first = store
        .lock("short", Duration::from_millis(150))
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .lock("short", Duration::from_millis(150))
        .await
        .unwrap()
        .is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = store
        .lock("short", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !store.unlock("short", &first).await.unwrap(),
        "an expired holder cannot free the new one"
    );
    assert!(store.unlock("short", &second).await.unwrap());
}

#[tokio::test]
async fn dedupe_says_first_exactly_once_under_concurrency_and_forgets_after_ttl() {
    let store = store().await;
    let calls = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .dedupe("wechat", "msg-1", Duration::from_millis(300))
                .await
                .unwrap()
        })
    });
    let firsts = join_all(calls)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(firsts, 1);
    assert!(store
        .dedupe("wechat", "msg-2", Duration::from_secs(5))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(store
        .dedupe("wechat", "msg-1", Duration::from_secs(5))
        .await
        .unwrap());
}

#[tokio::test]
async fn idempotency_records_start_complete_replay_and_refuse_other_bodies() {
    let store = store().await;
    let ttl = Duration::from_secs(30);
    assert_eq!(
        store.idempotency_begin("k1", "fp-a", ttl).await.unwrap(),
        IdempotencyBegin::Started
    );
    assert_eq!(
        store.idempotency_begin("k1", "fp-a", ttl).await.unwrap(),
        IdempotencyBegin::InProgress
    );
    assert_eq!(
        store.idempotency_begin("k1", "fp-b", ttl).await.unwrap(),
        IdempotencyBegin::Mismatch
    );

    store
        .idempotency_complete("k1", "fp-a", b"{\"won\":true}", ttl)
        .await
        .unwrap();
    assert_eq!(
        store.idempotency_begin("k1", "fp-a", ttl).await.unwrap(),
        IdempotencyBegin::Completed(b"{\"won\":true}".to_vec())
    );
    assert_eq!(
        store.idempotency_begin("k1", "fp-b", ttl).await.unwrap(),
        IdempotencyBegin::Mismatch
    );

    // Abandoning is for pending claims only: a completed record stays.
    store.idempotency_abandon("k1", "fp-a").await.unwrap();
    assert!(matches!(
        store.idempotency_begin("k1", "fp-a", ttl).await.unwrap(),
        IdempotencyBegin::Completed(_)
    ));
}

#[tokio::test]
async fn an_abandoned_or_lapsed_claim_can_be_taken_again() {
    let store = store().await;
    assert_eq!(
        store
            .idempotency_begin("k2", "fp", Duration::from_secs(30))
            .await
            .unwrap(),
        IdempotencyBegin::Started
    );
    store.idempotency_abandon("k2", "other-fp").await.unwrap();
    assert_eq!(
        store
            .idempotency_begin("k2", "fp", Duration::from_secs(30))
            .await
            .unwrap(),
        IdempotencyBegin::InProgress,
        "another request's fingerprint cannot abandon the claim"
    );
    store.idempotency_abandon("k2", "fp").await.unwrap();
    assert_eq!(
        store
            .idempotency_begin("k2", "fp", Duration::from_millis(150))
            .await
            .unwrap(),
        IdempotencyBegin::Started
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store
            .idempotency_begin("k2", "fp", Duration::from_secs(30))
            .await
            .unwrap(),
        IdempotencyBegin::Started,
        "a claim whose holder died lapses"
    );
}

#[tokio::test]
async fn only_one_of_many_concurrent_claims_starts() {
    let store = store().await;
    let calls = (0..100).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .idempotency_begin("k3", "fp", Duration::from_secs(30))
                .await
                .unwrap()
        })
    });
    let started = join_all(calls)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap() == IdempotencyBegin::Started)
        .count();
    assert_eq!(started, 1);
}

#[tokio::test]
async fn the_pause_flag_is_per_campaign_and_per_prefix() {
    let prefix = random_prefix();
    let store = fresh_store(&prefix).await;
    let neighbour: Arc<_> = fresh_store(&random_prefix()).await;
    assert!(!store.is_paused("q4-2026").await.unwrap());
    store.set_paused("q4-2026", true).await.unwrap();
    assert!(store.is_paused("q4-2026").await.unwrap());
    assert!(!store.is_paused("q1-2026").await.unwrap());
    assert!(
        !neighbour.is_paused("q4-2026").await.unwrap(),
        "prefixes isolate deployments"
    );
    store.set_paused("q4-2026", false).await.unwrap();
    assert!(!store.is_paused("q4-2026").await.unwrap());
}
