use std::sync::Arc;

use futures::future::join_all;
use serde_json::json;
use wxcampaign::audit::{self, Actor};
use wxcampaign::error::{AppError, ErrorCode};
use wxcampaign::idempotency::{fingerprint, run_once, IdempotencyKey, StoredResponse};

use crate::helpers::spawn_app;

/// The action writes a row to the real database, so the row count is the number of executions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_repeats_execute_once_and_all_get_the_same_answer() {
    let app = Arc::new(spawn_app().await);
    let before = app.count_audit_entries().await;
    let key = IdempotencyKey::parse("8f0e2c1a-grant-once").unwrap();
    let print = fingerprint(&[b"POST", b"/test/grant", br#"{"prize":1}"#]);

    let repeats = (0..200).map(|_| {
        let app = app.clone();
        let key = key.clone();
        let print = print.clone();
        tokio::spawn(async move {
            run_once(app.store.as_ref(), "user:1:grant", &key, &print, || async {
                audit::record(
                    &app.db,
                    &Actor::cli(),
                    audit::Entry::new("test.grant", "test", "1".into()),
                )
                .await
                .map_err(AppError::unexpected)?;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                StoredResponse::ok(json!({ "granted": "prize-1" }))
            })
            .await
        })
    });
    let outcomes: Vec<_> = join_all(repeats)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();

    assert_eq!(app.count_audit_entries().await, before + 1, "executed once");
    assert_eq!(outcomes.iter().filter(|o| !o.replayed).count(), 1);
    assert!(outcomes
        .iter()
        .all(|o| o.response.body == json!({ "granted": "prize-1" })));
}

#[tokio::test]
async fn a_reused_key_with_another_body_is_refused_without_running() {
    let app = spawn_app().await;
    let key = IdempotencyKey::parse("reused-key-0001").unwrap();
    let first = fingerprint(&[b"body one"]);
    let second = fingerprint(&[b"body two"]);
    run_once(app.store.as_ref(), "u:1", &key, &first, || async {
        StoredResponse::ok(json!(1))
    })
    .await
    .unwrap();
    let mut ran = false;
    let refused = run_once(app.store.as_ref(), "u:1", &key, &second, || async {
        ran = true;
        StoredResponse::ok(json!(2))
    })
    .await
    .unwrap_err();
    assert_eq!(refused.code, "idempotency_key_reused");
    assert!(!ran);
}

#[tokio::test]
async fn a_failed_action_keeps_nothing_so_the_key_can_be_retried() {
    let app = spawn_app().await;
    let key = IdempotencyKey::parse("retry-after-fail").unwrap();
    let print = fingerprint(&[b"x"]);
    let failed = run_once(app.store.as_ref(), "u:1", &key, &print, || async {
        Err::<StoredResponse, _>(AppError::new(ErrorCode::CampaignPaused, "paused"))
    })
    .await
    .unwrap_err();
    assert_eq!(failed.code, "campaign_paused");
    let retried = run_once(app.store.as_ref(), "u:1", &key, &print, || async {
        StoredResponse::ok(json!("ok"))
    })
    .await
    .unwrap();
    assert!(!retried.replayed);
    assert_eq!(retried.response.body, json!("ok"));
}

#[test]
fn keys_must_be_sane() {
    assert!(IdempotencyKey::parse("550e8400-e29b-41d4-a716-446655440000").is_ok());
    for bad in [
        "short",
        "has space in it",
        "semi;colon;key",
        &"x".repeat(65),
    ] {
        assert_eq!(
            IdempotencyKey::parse(bad).unwrap_err().code,
            "idempotency_key_invalid",
            "{bad}"
        );
    }
}
