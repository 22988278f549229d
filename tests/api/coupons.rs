use chrono::Duration;
use futures::future::join_all;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;
use wxcampaign::coupons::service;
use wxcampaign::entities::user_coupons;
use wxcampaign::rewards::{Grant, Granted, Reward, RewardError, Rewards};

use crate::helpers::{error_code, spawn_app, TestApp};

async fn template(app: &TestApp, operator: &str, body: Value) -> reqwest::Response {
    app.post_json("/admin/v1/coupon-templates", Some(operator), &body)
        .await
}

/// Issues one coupon in its own write transaction, as a grant would.
async fn issue(
    app: &TestApp,
    slug: &str,
    user_id: i64,
    source_ref: String,
) -> Result<user_coupons::Model, RewardError> {
    let txn = wxcampaign::db::begin_write(&app.db).await.unwrap();
    let grant = Grant {
        user_id,
        source_ref: &source_ref,
        reward: Reward::Coupon { template: slug },
    };
    let mut rewards = Rewards::new(app.clock.now());
    let result = rewards.grant(&txn, &grant).await;
    match &result {
        Ok(_) => txn.commit().await.unwrap(),
        Err(_) => txn.rollback().await.unwrap(),
    }
    rewards.after_commit(app.state.store()).await;
    result.map(|granted| match granted {
        Granted::Coupon(coupon) => coupon,
        other => panic!("a coupon grant gave {other:?}"),
    })
}

#[tokio::test]
async fn a_coupon_prize_issues_a_coupon_that_is_used_once_at_the_counter() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let created = template(&app, &operator, json!({ "slug": "cash-20", "name": "20元立减金", "value_fen": 2000, "min_spend_fen": 10000, "valid_days": 30 })).await;
    assert_eq!(created.status(), 201);
    let base = app.clock.now();
    let at = |d: Duration| wxcampaign::calendar::shanghai(base + d);
    app.post_json("/admin/v1/campaigns", Some(&operator), &json!({
        "slug": "coupon-test", "name": "券", "theme": "券", "year": 2026, "quarter": 4, "rules_text": "规则",
        "preheat_at": at(Duration::minutes(30)), "starts_at": at(Duration::hours(1)), "ends_at": at(Duration::days(30)),
        "pools": [{ "slug": "pool", "name": "奖池", "kind": "lottery", "daily_free_chances": 1,
                    "prizes": [{ "slug": "cash", "name": "20元立减金", "tier": 2, "kind": "coupon", "value_fen": 2000,
                                 "weight_bp": 10000, "coupon_template": "cash-20" }] }]
    })).await;
    app.post_json(
        "/admin/v1/campaigns/coupon-test/schedule",
        Some(&operator),
        &json!({}),
    )
    .await;
    app.clock.advance(Duration::hours(2));
    let (_, token) = app.customer("oCouponUser01").await;
    let drawn = app
        .api
        .post(app.url("/api/v1/campaigns/coupon-test/lottery/pool/draws"))
        .bearer_auth(&token)
        .header("idempotency-key", "coupon-draw-001")
        .send()
        .await
        .unwrap();
    assert_eq!(drawn.status(), 200);

    let coupons: Value = app
        .get("/api/v1/me/coupons", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let coupon = &coupons["coupons"][0];
    assert_eq!(
        (coupon["value_fen"].as_i64(), coupon["status"].as_str()),
        (Some(2000), Some("active"))
    );
    let code = coupon["code"].as_str().unwrap().to_owned();

    let before = app.count_audit_entries().await;
    let used = app
        .post_json(
            &format!("/admin/v1/coupons/{code}/use"),
            Some(&operator),
            &json!({}),
        )
        .await;
    assert_eq!(used.status(), 200);
    let again = app
        .post_json(
            &format!("/admin/v1/coupons/{code}/use"),
            Some(&operator),
            &json!({}),
        )
        .await;
    assert_eq!(
        (again.status().as_u16(), error_code(again).await.as_str()),
        (409, "coupon_not_usable")
    );
    assert_eq!(app.count_audit_entries().await, before + 1);
    assert_eq!(
        app.count_events("coupon_used").await,
        1,
        "the use is recorded once"
    );
    let coupons: Value = app
        .get("/api/v1/me/coupons", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(coupons["coupons"][0]["status"], "used");
}

#[tokio::test]
async fn coupons_expire_and_an_expired_one_cannot_be_used() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    template(
        &app,
        &operator,
        json!({ "slug": "one-day", "name": "当日券", "value_fen": 500, "valid_days": 1 }),
    )
    .await;
    let (user_id, token) = app.customer("oCouponUser01").await;
    let coupon = issue(&app, "one-day", user_id, "test:1".into())
        .await
        .unwrap();
    app.clock.advance(Duration::days(2));
    let coupons: Value = app
        .get("/api/v1/me/coupons", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(coupons["coupons"][0]["status"], "expired");
    let refused = app
        .post_json(
            &format!("/admin/v1/coupons/{}/use", coupon.code),
            Some(&operator),
            &json!({}),
        )
        .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(service::expire(&app.db, app.clock.now()).await.unwrap(), 1);
    assert_eq!(
        user_coupons::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .status,
        "expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn per_user_and_total_limits_hold_under_concurrency_and_a_source_issues_once() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    template(
        &app,
        &operator,
        json!({ "slug": "limited", "name": "限量券", "value_fen": 1000, "valid_days": 7,
                                      "per_user_limit": 2, "total_limit": 5 }),
    )
    .await;
    let (alice, _) = app.customer("oCouponUser01").await;
    let tries = (0..20).map(|i| issue(&app, "limited", alice, format!("alice:{i}")));
    let issued = join_all(tries)
        .await
        .into_iter()
        .filter(Result::is_ok)
        .count();
    assert_eq!(issued, 2, "per-user limit");

    let mut users = Vec::new();
    for i in 0..20 {
        users.push(app.customer(&format!("oCouponUser{i:03}")).await.0);
    }
    let tries = users
        .iter()
        .map(|user| issue(&app, "limited", *user, format!("user:{user}")));
    let results = join_all(tries).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        3,
        "the 5 in total, 2 of them Alice's"
    );
    assert_eq!(
        user_coupons::Entity::find().count(&app.db).await.unwrap(),
        5
    );

    // Which of Alice's tries won is up to the race: repeat one that did.
    let held = user_coupons::Entity::find().all(&app.db).await.unwrap();
    let won = held.iter().find(|c| c.user_id == alice).unwrap();
    let repeat = issue(&app, "limited", alice, won.source_ref.clone())
        .await
        .unwrap();
    assert_eq!(
        repeat.code, won.code,
        "a source reference that issued returns its coupon, however full the template is"
    );
}

#[tokio::test]
async fn bad_templates_and_other_roles_are_refused() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let manager = app.staff_token("carl", Role::CommunityManager).await;
    for body in [
        json!({ "slug": "x", "name": "n", "value_fen": 100, "valid_days": 7 }),
        json!({ "slug": "no-validity", "name": "n", "value_fen": 100 }),
        json!({ "slug": "too-much", "name": "n", "value_fen": 5_000_001, "valid_days": 7 }),
    ] {
        let response = template(&app, &operator, body).await;
        assert_eq!(
            (
                response.status().as_u16(),
                error_code(response).await.as_str()
            ),
            (400, "invalid_coupon")
        );
    }
    let forbidden = template(
        &app,
        &manager,
        json!({ "slug": "ok-slug", "name": "n", "value_fen": 100, "valid_days": 7 }),
    )
    .await;
    assert_eq!(forbidden.status(), 403);
}

/// Bad references and exhausted coupon templates are answered with stable codes, and change nothing.
#[tokio::test]
async fn an_unknown_template_or_sold_out_coupons_are_refused_cleanly() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    template(&app, &operator, json!({ "slug": "just-one", "name": "限一张", "value_fen": 500, "valid_days": 7, "total_limit": 1 })).await;
    let base = app.clock.now();
    let at = |d: Duration| wxcampaign::calendar::shanghai(base + d);
    let campaign = |template: &str| {
        json!({
            "slug": "coupon-test", "name": "券", "theme": "券", "year": 2026, "quarter": 4, "rules_text": "规则",
            "preheat_at": at(Duration::minutes(30)), "starts_at": at(Duration::hours(1)), "ends_at": at(Duration::days(30)),
            "pools": [{ "slug": "pool", "name": "奖池", "kind": "lottery", "daily_free_chances": 1,
                        "prizes": [{ "slug": "cash", "name": "5元券", "tier": 2, "kind": "coupon", "value_fen": 500,
                                     "weight_bp": 10000, "coupon_template": template }] }],
            "catalogue": [{ "slug": "cash", "name": "5元券", "cost_points": 10, "coupon_template": template }]
        })
    };

    let unknown = app
        .post_json(
            "/admin/v1/campaigns",
            Some(&operator),
            &campaign("no-such-template"),
        )
        .await;
    assert_eq!(unknown.status(), 400);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("invalid_campaign"), Some("pools[0]"))
    );
    assert_eq!(
        wxcampaign::entities::campaigns::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );

    assert_eq!(
        app.post_json(
            "/admin/v1/campaigns",
            Some(&operator),
            &campaign("just-one")
        )
        .await
        .status(),
        201
    );
    app.post_json(
        "/admin/v1/campaigns/coupon-test/schedule",
        Some(&operator),
        &json!({}),
    )
    .await;
    app.clock.advance(Duration::hours(2));
    let draw = |token: String, key: &'static str| {
        let app = &app;
        async move {
            app.api
                .post(app.url("/api/v1/campaigns/coupon-test/lottery/pool/draws"))
                .bearer_auth(token)
                .header("idempotency-key", key)
                .send()
                .await
                .unwrap()
        }
    };
    let (_, first) = app.customer("oCouponUser01").await;
    let (second_id, second) = app.customer("oCouponUser02").await;
    assert_eq!(draw(first.clone(), "first-draw-0001").await.status(), 200);
    let gone = draw(second.clone(), "second-draw-001").await;
    assert_eq!(
        (gone.status().as_u16(), error_code(gone).await.as_str()),
        (409, "out_of_stock")
    );
    assert_eq!(
        wxcampaign::entities::draw_records::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1,
        "the refused draw left no record"
    );

    // The catalogue's coupon comes from the same exhausted template: refused, and no points spent.
    app.seed_points(second_id, 100).await;
    let redeem = app
        .api
        .post(app.url("/api/v1/points/redeem"))
        .bearer_auth(&second)
        .header("idempotency-key", "redeem-gone-001")
        .json(&json!({ "campaign": "coupon-test", "item": "cash" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (redeem.status().as_u16(), error_code(redeem).await.as_str()),
        (409, "out_of_stock")
    );
    let points: Value = app
        .get("/api/v1/me/points", Some(&second))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(points["balance"], 100);
}
