//! The StateStore contract. Runs on the memory store by default and on Redis when TEST_REDIS_URL is set:
//! one suite, two backends, on a multi-threaded runtime so that concurrent calls really run at once.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use wxcampaign::config::RateLimitRule;
use wxcampaign::store::{IdempotencyBegin, LockToken, SharedStore};

use crate::helpers::{fresh_store, random_prefix, ClockedStore};

async fn store() -> SharedStore {
    fresh_store(&random_prefix()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ping_answers() {
    store().await.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peek_at_a_budget_spends_nothing() {
    let store = store().await;
    let rule = RateLimitRule {
        limit: 2,
        window_secs: 60,
    };
    for _ in 0..10 {
        let peek = store.rate_limit_peek("test", "carol", rule).await.unwrap();
        assert!(peek.allowed);
        assert_eq!(
            peek.remaining, 1,
            "a peek says what the next request would leave"
        );
    }
    assert!(
        store
            .rate_limit("test", "carol", rule)
            .await
            .unwrap()
            .allowed
    );
    assert!(
        store
            .rate_limit("test", "carol", rule)
            .await
            .unwrap()
            .allowed
    );
    let spent = store.rate_limit_peek("test", "carol", rule).await.unwrap();
    assert!(!spent.allowed, "peeks see what spending did");
    assert!(spent.retry_after > Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_frees_capacity_as_time_passes() {
    let clocked = ClockedStore::new().await;
    let store = &clocked.store;
    let rule = RateLimitRule {
        limit: 2,
        window_secs: 1,
    };
    assert!(store.rate_limit("t", "s", rule).await.unwrap().allowed);
    assert!(store.rate_limit("t", "s", rule).await.unwrap().allowed);
    assert!(!store.rate_limit("t", "s", rule).await.unwrap().allowed);
    clocked.pass(Duration::from_millis(600)).await;
    assert!(store.rate_limit("t", "s", rule).await.unwrap().allowed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lock_frees_itself_when_it_expires() {
    let clocked = ClockedStore::new().await;
    let store = &clocked.store;
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
    clocked.pass(Duration::from_millis(300)).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dedupe_says_first_exactly_once_under_concurrency_and_forgets_after_ttl() {
    let clocked = ClockedStore::new().await;
    let store = &clocked.store;
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
    clocked.pass(Duration::from_millis(500)).await;
    assert!(store
        .dedupe("wechat", "msg-1", Duration::from_secs(5))
        .await
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abandoned_or_lapsed_claim_can_be_taken_again() {
    let clocked = ClockedStore::new().await;
    let store = &clocked.store;
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
    clocked.pass(Duration::from_millis(300)).await;
    assert_eq!(
        store
            .idempotency_begin("k2", "fp", Duration::from_secs(30))
            .await
            .unwrap(),
        IdempotencyBegin::Started,
        "a claim whose holder died lapses"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
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

mod quiz {
    use std::time::Duration;

    use futures::future::join_all;
    use wxcampaign::store::quiz::{
        AnswerOutcome, AnswerSpec, AttemptQuestion, BoardEntry, NewAttempt,
    };

    use super::store;

    fn attempt(id: &str) -> NewAttempt {
        let question = |n: u32| AttemptQuestion {
            public: format!(r#"{{"number":{n}}}"#),
            labels: "ABCD".into(),
            multiple: n == 2,
            correct: if n == 2 { "AC".into() } else { "B".into() },
            explanation: format!("why {n}"),
        };
        NewAttempt {
            campaign: "store-quiz".into(),
            attempt_id: id.into(),
            user_id: 7,
            questions: vec![question(1), question(2)],
            started_at_ms: 1_000_000,
            expires_at_ms: 1_060_000,
            late_after_ms: 20_000,
            too_fast_ms: 800,
            ttl: Duration::from_secs(60),
        }
    }

    fn answer(id: &str, number: u32, chosen: &str, now_ms: i64) -> AnswerSpec {
        AnswerSpec {
            campaign: "store-quiz".into(),
            attempt_id: id.into(),
            user_id: 7,
            number,
            chosen: chosen.into(),
            now_ms,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_attempt_takes_each_answer_once_in_turn_and_judges_it_by_the_given_time() {
        let store = store().await;
        store.start_quiz(&attempt("a1")).await.unwrap();
        let stranger = AnswerSpec {
            user_id: 8,
            ..answer("a1", 1, "B", 1_005_000)
        };
        for (spec, expected) in [
            (stranger, AnswerOutcome::NotFound),
            (
                answer("a1", 2, "AC", 1_005_000),
                AnswerOutcome::NotCurrent { current: 1 },
            ),
            (
                answer("a1", 1, "AB", 1_005_000),
                AnswerOutcome::InvalidOption,
            ),
            (
                answer("a1", 1, "E", 1_005_000),
                AnswerOutcome::InvalidOption,
            ),
            (answer("a1", 1, "B", 1_070_000), AnswerOutcome::Expired),
        ] {
            assert_eq!(store.answer_quiz(&spec).await.unwrap(), expected);
        }
        let AnswerOutcome::Answered(first) = store
            .answer_quiz(&answer("a1", 1, "B", 1_005_000))
            .await
            .unwrap()
        else {
            panic!("the first answer is taken");
        };
        assert!(first.record.correct && !first.record.too_fast);
        assert_eq!(first.record.elapsed_ms, 5_000);
        assert_eq!(
            (first.correct.as_str(), first.explanation.as_str()),
            ("B", "why 1")
        );
        assert_eq!(first.next.as_deref(), Some(r#"{"number":2}"#));
        assert!(first.finished.is_none());

        // The last answer, sent ten times at once: one is judged, the rest find the attempt over.
        let outcomes: Vec<AnswerOutcome> = join_all((0..10).map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .answer_quiz(&answer("a1", 2, "AC", 1_005_300))
                    .await
                    .unwrap()
            })
        }))
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();
        let judged: Vec<_> = outcomes
            .iter()
            .filter_map(|o| match o {
                AnswerOutcome::Answered(a) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(judged.len(), 1);
        let records = judged[0]
            .finished
            .clone()
            .expect("the last answer finishes");
        assert_eq!(records.len(), 2);
        assert!(
            records[1].correct && records[1].too_fast,
            "300 ms is too fast"
        );
        assert!(outcomes
            .iter()
            .filter(|o| !matches!(o, AnswerOutcome::Answered(_)))
            .all(|o| *o == AnswerOutcome::Finished(records.clone())));
        let view = store
            .quiz_attempt("store-quiz", "a1", 7)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((view.current, view.count, view.answers), (3, 2, records));
        assert!(store
            .quiz_attempt("store-quiz", "a1", 8)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_late_answer_is_wrong_and_a_paused_campaign_takes_none() {
        let store = store().await;
        store.start_quiz(&attempt("a2")).await.unwrap();
        let AnswerOutcome::Answered(late) = store
            .answer_quiz(&answer("a2", 1, "B", 1_020_001))
            .await
            .unwrap()
        else {
            panic!("a late answer is taken");
        };
        assert!(late.record.late && !late.record.correct);
        store.set_paused("store-quiz", true).await.unwrap();
        assert_eq!(
            store
                .answer_quiz(&answer("a2", 2, "AC", 1_025_000))
                .await
                .unwrap(),
            AnswerOutcome::Paused
        );
        let view = store
            .quiz_attempt("store-quiz", "a2", 7)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(view.current, 2, "the paused answer changed nothing");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_board_only_raises_values_and_ranks_best_first() {
        let store = store().await;
        let entry = |user_id, value| BoardEntry { user_id, value };
        let page = store.board_page("store-quiz", 10, 1).await.unwrap();
        assert!(!page.built && page.top.is_empty() && page.mine.is_none());
        store
            .board_submit(
                "store-quiz",
                &[entry(1, 50), entry(2, 70), entry(3, 60)],
                false,
            )
            .await
            .unwrap();
        store
            .board_submit("store-quiz", &[entry(1, 40), entry(3, 80)], true)
            .await
            .unwrap();
        let page = store.board_page("store-quiz", 2, 1).await.unwrap();
        assert!(page.built);
        assert_eq!(page.top, vec![entry(3, 80), entry(2, 70)]);
        assert_eq!(
            page.mine,
            Some((3, 50)),
            "a lower value never replaces a higher one"
        );
        let page = store.board_page("store-quiz", 10, 99).await.unwrap();
        assert_eq!(page.mine, None);
    }
}

fn team_of(size: u32, seats: Vec<(u32, i64)>) -> wxcampaign::store::teams::TeamSeats {
    wxcampaign::store::teams::TeamSeats {
        campaign: "store-teams".into(),
        activity_id: 7,
        team_id: 31,
        size,
        leader_id: 100,
        expires_at_ms: 2_000_000_000_000,
        seats,
        keep_for: Duration::from_secs(600),
    }
}

fn join_of(team_id: i64, user_id: i64, now_ms: i64) -> wxcampaign::store::teams::JoinSpec {
    wxcampaign::store::teams::JoinSpec {
        campaign: "store-teams".into(),
        activity_id: 7,
        team_id,
        user_id,
        now_ms,
        keep_for: Duration::from_secs(600),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_team_seats_exactly_its_free_seats_under_fifty_concurrent_joins() {
    use wxcampaign::store::teams::JoinOutcome;
    let store = store().await;
    assert_eq!(
        store.join_team(&join_of(31, 1, 0)).await.unwrap(),
        JoinOutcome::NotHydrated
    );
    store
        .hydrate_team(&team_of(4, vec![(1, 100)]))
        .await
        .unwrap();
    let outcomes = join_all((1..=50).map(|user| {
        let store = store.clone();
        async move { store.join_team(&join_of(31, user, 0)).await.unwrap() }
    }))
    .await;
    let mut seats: Vec<u32> = outcomes
        .iter()
        .filter_map(|o| match o {
            JoinOutcome::Joined { seat, .. } => Some(*seat),
            _ => None,
        })
        .collect();
    seats.sort();
    assert_eq!(seats, vec![2, 3, 4]);
    let full = outcomes
        .iter()
        .filter(|o| matches!(o, JoinOutcome::Joined { full: true, .. }))
        .count();
    assert_eq!(full, 1, "exactly one join took the last seat");
    assert_eq!(
        outcomes.iter().filter(|o| **o == JoinOutcome::Full).count(),
        47
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_join_is_refused_for_the_pause_the_window_its_own_team_and_another() {
    use wxcampaign::store::teams::JoinOutcome;
    let store = store().await;
    store
        .hydrate_team(&team_of(3, vec![(1, 100), (2, 101)]))
        .await
        .unwrap();
    let other = wxcampaign::store::teams::TeamSeats {
        team_id: 32,
        leader_id: 200,
        ..team_of(3, vec![(1, 200)])
    };
    store.hydrate_team(&other).await.unwrap();
    assert_eq!(
        store.join_team(&join_of(31, 100, 0)).await.unwrap(),
        JoinOutcome::OwnTeam
    );
    assert_eq!(
        store.join_team(&join_of(31, 101, 0)).await.unwrap(),
        JoinOutcome::AlreadyMember
    );
    assert_eq!(
        store.join_team(&join_of(31, 200, 0)).await.unwrap(),
        JoinOutcome::InAnotherTeam { team_id: 32 }
    );
    assert_eq!(
        store
            .join_team(&join_of(31, 5, 2_000_000_000_000))
            .await
            .unwrap(),
        JoinOutcome::Expired
    );
    store.set_paused("store-teams", true).await.unwrap();
    assert_eq!(
        store.join_team(&join_of(31, 5, 0)).await.unwrap(),
        JoinOutcome::Paused
    );
    store.set_paused("store-teams", false).await.unwrap();
    // An undone join forgets the customer's mark and the team (the next join reads the database again).
    let taken = join_of(31, 5, 0);
    assert!(matches!(
        store.join_team(&taken).await.unwrap(),
        JoinOutcome::Joined {
            seat: 3,
            full: true
        }
    ));
    store.undo_join(&taken).await.unwrap();
    assert_eq!(
        store.join_team(&join_of(31, 6, 0)).await.unwrap(),
        JoinOutcome::NotHydrated
    );
    // A closed team frees its members' marks: the other team's leader may join elsewhere.
    store
        .close_team("store-teams", 7, 32, &[200])
        .await
        .unwrap();
    store
        .hydrate_team(&team_of(3, vec![(1, 100)]))
        .await
        .unwrap();
    assert!(matches!(
        store.join_team(&join_of(31, 200, 0)).await.unwrap(),
        JoinOutcome::Joined { seat: 2, .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_work_queue_hands_each_message_to_exactly_one_of_many_consumers() {
    let store = store().await;
    let payloads: Vec<String> = (0..500).map(|n| format!("delivery-{n}")).collect();
    for batch in payloads.chunks(100) {
        store.enqueue("pushes", batch).await.unwrap();
    }
    let depth = store.queue_depth("pushes").await.unwrap();
    assert_eq!((depth.waiting, depth.pending), (500, 0));
    let consumers = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let taken = store.take("pushes", &format!("c{n}"), 7).await.unwrap();
                if taken.is_empty() {
                    return got;
                }
                let ids: Vec<String> = taken.iter().map(|w| w.id.clone()).collect();
                got.extend(taken.into_iter().map(|w| w.payload));
                store.ack("pushes", &ids).await.unwrap();
            }
        })
    });
    let mut all: Vec<String> = join_all(consumers)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();
    all.sort();
    let mut expected = payloads.clone();
    expected.sort();
    assert_eq!(all, expected, "every message once, none twice");
    let depth = store.queue_depth("pushes").await.unwrap();
    assert_eq!((depth.waiting, depth.pending), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_consumers_messages_are_reclaimed_after_their_idle_time() {
    let clocked = ClockedStore::new().await;
    let store = &clocked.store;
    let payloads: Vec<String> = (0..10).map(|n| n.to_string()).collect();
    store.enqueue("pushes", &payloads).await.unwrap();
    // The first consumer takes six, acks two and stops.
    let taken = store.take("pushes", "dies", 6).await.unwrap();
    assert_eq!(taken.len(), 6);
    let acked: Vec<String> = taken[..2].iter().map(|w| w.id.clone()).collect();
    store.ack("pushes", &acked).await.unwrap();
    let idle = Duration::from_millis(200);
    assert!(
        store
            .reclaim("pushes", "takes-over", idle, 100)
            .await
            .unwrap()
            .is_empty(),
        "not idle long enough yet"
    );
    let depth = store.queue_depth("pushes").await.unwrap();
    assert_eq!((depth.waiting, depth.pending), (4, 4));
    clocked.pass(Duration::from_millis(400)).await;
    let reclaimed = store
        .reclaim("pushes", "takes-over", idle, 100)
        .await
        .unwrap();
    let mut got: Vec<String> = reclaimed.iter().map(|w| w.payload.clone()).collect();
    got.sort();
    assert_eq!(
        got,
        ["2", "3", "4", "5"],
        "the four it never acked, not the two it did"
    );
    assert!(
        store
            .reclaim("pushes", "third", idle, 100)
            .await
            .unwrap()
            .is_empty(),
        "a reclaimed message is the new consumer's, idle from now"
    );
    let rest = store.take("pushes", "takes-over", 100).await.unwrap();
    assert_eq!(rest.len(), 4);
    let ids: Vec<String> = reclaimed
        .iter()
        .chain(&rest)
        .map(|w| w.id.clone())
        .collect();
    store.ack("pushes", &ids).await.unwrap();
    let depth = store.queue_depth("pushes").await.unwrap();
    assert_eq!((depth.waiting, depth.pending), (0, 0));
    assert!(store.take("other-queue", "x", 10).await.unwrap().is_empty());
}
