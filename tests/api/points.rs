use chrono::Duration;
use futures::future::join_all;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;
use wxcampaign::entities::points_ledger;
use wxcampaign::points::service::{self, PointsChange, PointsError};

use crate::helpers::{error_code, spawn_app, TestApp};

async fn user(app: &TestApp, openid: &str) -> (i64, String) {
    let token = app.customer_token(openid).await;
    let me: Value = app
        .get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    (me["id"].as_i64().unwrap(), token)
}

fn change<'a>(user_id: i64, delta: i64, source_ref: &'a str) -> PointsChange<'a> {
    PointsChange {
        user_id,
        delta,
        reason: "quiz_passed",
        source_ref,
        campaign: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_source_reference_grants_once_even_when_sent_concurrently() {
    let app = spawn_app().await;
    let (user_id, _) = user(&app, "oPointsUser01").await;
    let now = app.clock.now();
    let grants = (0..50).map(|_| {
        let db = app.db.clone();
        async move { service::record(&db, &change(user_id, 30, "quiz_attempt:1"), now).await }
    });
    let entries: Vec<_> = join_all(grants)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        entries.iter().all(|e| e == &entries[0]),
        "every repeat returns the first entry"
    );
    assert_eq!(
        points_ledger::Entity::find().count(&app.db).await.unwrap(),
        1
    );
    assert_eq!(
        service::statement(&app.db, user_id, None, 20)
            .await
            .unwrap()
            .balance,
        30
    );

    let (other, _) = user(&app, "oPointsUser02").await;
    let reused = service::record(&app.db, &change(other, 30, "quiz_attempt:1"), now)
        .await
        .unwrap_err();
    assert!(matches!(reused, PointsError::SourceReused));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_spends_never_take_the_balance_below_zero() {
    let app = spawn_app().await;
    let (user_id, _) = user(&app, "oPointsUser01").await;
    let now = app.clock.now();
    service::record(&app.db, &change(user_id, 250, "grant:1"), now)
        .await
        .unwrap();
    let refs: Vec<String> = (0..100).map(|i| format!("redeem:{i}")).collect();
    let spends = refs.iter().map(|r| {
        let spend = PointsChange {
            reason: "redeem",
            ..change(user_id, -10, r)
        };
        let db = app.db.clone();
        async move { service::record(&db, &spend, now).await }
    });
    let results = join_all(spends).await;
    let spent = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(PointsError::Insufficient { .. })))
        .count();
    assert_eq!((spent, refused), (25, 75));
    let statement = service::statement(&app.db, user_id, None, 100)
        .await
        .unwrap();
    assert_eq!(statement.balance, 0);
    assert!(statement.entries.iter().all(|e| e.balance_after >= 0));
    assert_eq!(
        statement.entries.iter().map(|e| e.delta).sum::<i64>(),
        0,
        "the ledger adds up to the balance"
    );
}

#[tokio::test]
async fn a_live_points_week_multiplies_its_campaigns_grants() {
    let app = spawn_app().await;
    let (user_id, _) = user(&app, "oPointsUser01").await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let start = app.clock.now() + Duration::hours(2);
    let at = |d: Duration| wxcampaign::calendar::shanghai(start + d);
    let campaign = json!({
        "slug": "points-test", "name": "积分季", "theme": "积分", "year": 2026, "quarter": 4,
        "preheat_at": at(-Duration::hours(1)), "starts_at": at(Duration::zero()), "ends_at": at(Duration::days(30)),
        "rules_text": "规则",
        "activities": [{ "slug": "carnival", "kind": "points_week", "name": "积分狂欢周",
                         "starts_at": at(Duration::days(1)), "ends_at": at(Duration::days(8)), "config": { "factor_percent": 200 } }]
    });
    assert_eq!(
        app.post_json("/admin/v1/campaigns", Some(&operator), &campaign)
            .await
            .status(),
        201
    );
    let grant = |source_ref: &'static str, when| {
        let db = app.db.clone();
        async move {
            let change = PointsChange {
                campaign: Some("points-test"),
                ..change(user_id, 10, source_ref)
            };
            service::record(&db, &change, when).await.unwrap()
        }
    };
    let before_week = grant("quiz_attempt:1", start + Duration::hours(1)).await;
    let in_week = grant("quiz_attempt:2", start + Duration::days(2)).await;
    let after_week = grant("quiz_attempt:3", start + Duration::days(9)).await;
    assert_eq!(
        (before_week.delta, in_week.delta, after_week.delta),
        (10, 20, 10)
    );
    assert_eq!(in_week.factor_percent, 200);
    // Spending is never multiplied.
    let spend = PointsChange {
        reason: "redeem",
        campaign: Some("points-test"),
        ..change(user_id, -15, "redeem:1")
    };
    assert_eq!(
        service::record(&app.db, &spend, start + Duration::days(2))
            .await
            .unwrap()
            .delta,
        -15
    );
}

#[tokio::test]
async fn customers_see_their_own_balance_and_history_newest_first() {
    let app = spawn_app().await;
    let (user_id, token) = user(&app, "oPointsUser01").await;
    let (other, other_token) = user(&app, "oPointsUser02").await;
    let now = app.clock.now();
    for i in 0..5 {
        let source_ref = format!("quiz_attempt:{i}");
        service::record(&app.db, &change(user_id, 10 + i, &source_ref), now)
            .await
            .unwrap();
    }
    service::record(&app.db, &change(other, 999, "quiz_attempt:other"), now)
        .await
        .unwrap();

    let first: Value = app
        .get("/api/v1/me/points?limit=3", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["balance"], 60);
    let deltas: Vec<i64> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["delta"].as_i64().unwrap())
        .collect();
    assert_eq!(deltas, vec![14, 13, 12]);
    let next = first["next_before_id"].as_i64().unwrap();
    let second: Value = app
        .get(
            &format!("/api/v1/me/points?limit=3&before_id={next}"),
            Some(&token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["entries"].as_array().unwrap().len(), 2);
    assert!(second["next_before_id"].is_null());
    let theirs: Value = app
        .get("/api/v1/me/points", Some(&other_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["balance"], 999);
    assert_eq!(app.get("/api/v1/me/points", None).await.status(), 401);
}

#[tokio::test]
async fn staff_adjustments_are_idempotent_audited_and_refused_when_wrong() {
    let app = spawn_app().await;
    let (user_id, token) = user(&app, "oPointsUser01").await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let manager = app.staff_token("carl", Role::CommunityManager).await;
    let adjust = |staff: &str, key: Option<&str>, body: Value| {
        let mut request = app
            .api
            .post(app.url("/admin/v1/points/adjustments"))
            .bearer_auth(staff)
            .json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send()
    };
    let before = app.count_audit_entries().await;

    for _ in 0..2 {
        let granted = adjust(
            &operator,
            Some("compensation-0001"),
            json!({ "user_id": user_id, "delta": 500 }),
        )
        .await
        .unwrap();
        assert_eq!(granted.status(), 200);
    }
    assert_eq!(
        app.count_audit_entries().await,
        before + 1,
        "one adjustment, one audit entry"
    );
    let points: Value = app
        .get("/api/v1/me/points", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(points["balance"], 500);

    let no_key = adjust(&operator, None, json!({ "user_id": user_id, "delta": 5 }))
        .await
        .unwrap();
    assert_eq!(
        (no_key.status().as_u16(), error_code(no_key).await.as_str()),
        (400, "idempotency_key_missing")
    );
    let too_much = adjust(
        &operator,
        Some("correction-0001"),
        json!({ "user_id": user_id, "delta": -501 }),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            too_much.status().as_u16(),
            error_code(too_much).await.as_str()
        ),
        (409, "insufficient_points")
    );
    let nobody = adjust(
        &operator,
        Some("correction-0002"),
        json!({ "user_id": 424242, "delta": 5 }),
    )
    .await
    .unwrap();
    assert_eq!(nobody.status(), 400);
    let forbidden = adjust(
        &manager,
        Some("correction-0003"),
        json!({ "user_id": user_id, "delta": 5 }),
    )
    .await
    .unwrap();
    assert_eq!(forbidden.status(), 403);
    assert_eq!(app.count_audit_entries().await, before + 1);
    let points: Value = app
        .get("/api/v1/me/points", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(points["balance"], 500);
}
