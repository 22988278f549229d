use chrono::Duration;
use futures::future::join_all;
use serde_json::{json, Value};
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;

use crate::helpers::{error_code, spawn_app_with, TestApp};

/// A live campaign with a catalogue: goods (stock 3, one each) and a coupon (unlimited). Returns the operator.
async fn live_catalogue(app: &TestApp) -> String {
    let operator = app.staff_token("olivia", Role::Operator).await;
    app.post_json(
        "/admin/v1/coupon-templates",
        Some(&operator),
        &json!({ "slug": "cash-10", "name": "10元立减金", "value_fen": 1000, "valid_days": 30 }),
    )
    .await;
    let base = app.clock.now();
    let at = |d: Duration| wxcampaign::calendar::shanghai(base + d);
    let created = app.post_json("/admin/v1/campaigns", Some(&operator), &json!({
        "slug": "mall", "name": "积分商城", "theme": "兑换", "year": 2026, "quarter": 4, "rules_text": "规则",
        "preheat_at": at(Duration::minutes(30)), "starts_at": at(Duration::hours(1)), "ends_at": at(Duration::days(30)),
        "catalogue": [
            { "slug": "cup", "name": "保温杯", "cost_points": 100, "stock": 3, "per_user_limit": 1 },
            { "slug": "cash", "name": "10元立减金", "cost_points": 10, "coupon_template": "cash-10" }
        ]
    })).await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    app.post_json(
        "/admin/v1/campaigns/mall/schedule",
        Some(&operator),
        &json!({}),
    )
    .await;
    app.clock.advance(Duration::hours(2));
    operator
}

async fn customer_with_points(app: &TestApp, openid: &str, balance: i64) -> String {
    let (user_id, token) = app.customer(openid).await;
    app.seed_points(user_id, balance).await;
    token
}

async fn redeem(app: &TestApp, token: &str, item: &str, key: &str) -> reqwest::Response {
    app.api
        .post(app.url("/api/v1/points/redeem"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({ "campaign": "mall", "item": item }))
        .send()
        .await
        .unwrap()
}

async fn balance(app: &TestApp, token: &str) -> i64 {
    app.points_balance(token).await
}

#[tokio::test]
async fn redeeming_spends_points_once_takes_stock_and_issues_the_coupon() {
    let app = spawn_app_with(&[]).await;
    live_catalogue(&app).await;
    let token = customer_with_points(&app, "oMallUser0001", 500).await;

    let catalogue: Value = app
        .get("/api/v1/campaigns/mall/catalogue", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(catalogue["items"].as_array().unwrap().len(), 2);

    for _ in 0..3 {
        assert_eq!(
            redeem(&app, &token, "cup", "redeem-cup-0001")
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        balance(&app, &token).await,
        400,
        "the same key redeems once"
    );
    let again = redeem(&app, &token, "cup", "redeem-cup-0002").await;
    assert_eq!(
        (again.status().as_u16(), error_code(again).await.as_str()),
        (409, "redeem_limit_reached")
    );

    let coupon: Value = redeem(&app, &token, "cash", "redeem-cash-001")
        .await
        .json()
        .await
        .unwrap();
    let code = coupon["coupon_code"].as_str().unwrap();
    let coupons: Value = app
        .get("/api/v1/me/coupons", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(coupons["coupons"][0]["code"], code);
    assert_eq!(balance(&app, &token).await, 390);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_never_take_a_balance_below_zero_nor_sell_past_stock() {
    let app = spawn_app_with(&[("APP__RATE_LIMIT__CUSTOMER_PER_USER__LIMIT", "1000")]).await;
    live_catalogue(&app).await;
    let token = customer_with_points(&app, "oMallUser0001", 100).await;
    let statuses: Vec<u16> = join_all((0..30).map(|i| {
        let (app, token) = (&app, &token);
        async move {
            redeem(app, token, "cash", &format!("cash-key-{i:04}"))
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(balance(&app, &token).await, 0);

    let mut buyers = Vec::new();
    for i in 0..10 {
        buyers.push(customer_with_points(&app, &format!("oMallBuyer{i:03}"), 1000).await);
    }
    let statuses: Vec<u16> = join_all(buyers.iter().map(|token| {
        let app = &app;
        async move {
            redeem(app, token, "cup", "buy-a-cup-0001")
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        3,
        "the stock: {statuses:?}"
    );
}

#[tokio::test]
async fn a_paused_campaign_or_too_few_points_redeem_nothing() {
    let app = spawn_app_with(&[]).await;
    let operator = live_catalogue(&app).await;
    let token = customer_with_points(&app, "oMallUser0001", 50).await;
    let poor = redeem(&app, &token, "cup", "too-poor-key-01").await;
    assert_eq!(
        (poor.status().as_u16(), error_code(poor).await.as_str()),
        (409, "insufficient_points")
    );
    app.post_json(
        "/admin/v1/campaigns/mall/pause",
        Some(&operator),
        &json!({ "reason": "盘点" }),
    )
    .await;
    let paused = redeem(&app, &token, "cash", "paused-key-0001").await;
    assert_eq!(
        (paused.status().as_u16(), error_code(paused).await.as_str()),
        (409, "campaign_paused")
    );
    assert_eq!(balance(&app, &token).await, 50, "nothing spent");
    let coupons: Value = app
        .get("/api/v1/me/coupons", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert!(coupons["coupons"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_redeem_key_reused_for_another_item_is_422_even_after_the_store_forgets() {
    let app = spawn_app_with(&[]).await;
    live_catalogue(&app).await;
    let token = customer_with_points(&app, "oMallReuse001", 500).await;
    assert_eq!(
        redeem(&app, &token, "cup", "redeem-reuse-01")
            .await
            .status(),
        200
    );
    let other_item = redeem(&app, &token, "cash", "redeem-reuse-01").await;
    assert_eq!(other_item.status(), 422);
    assert_eq!(error_code(other_item).await, "idempotency_key_reused");

    let forgetful = app.instance_with_empty_store().await;
    let other_item = redeem(&forgetful, &token, "cash", "redeem-reuse-01").await;
    assert_eq!(
        other_item.status(),
        422,
        "the redemption row remembers the key"
    );
    assert_eq!(error_code(other_item).await, "idempotency_key_reused");
    let same = redeem(&forgetful, &token, "cup", "redeem-reuse-01").await;
    assert_eq!(same.status(), 200, "the same request still replays");
    assert_eq!(balance(&app, &token).await, 400, "redeemed once");
}
