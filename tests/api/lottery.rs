use chrono::Duration;
use futures::future::join_all;
use futures::StreamExt;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;
use wxcampaign::entities::{draw_records, prize_pools};
use wxcampaign::lottery::service::grant_chances;

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp};

const DRAWS: &str = "/api/v1/campaigns/lottery-test/lottery/year-end/draws";

fn year_end_pool() -> Value {
    json!({
        "slug": "year-end", "name": "年终感恩抽奖", "kind": "lottery", "daily_free_chances": 1,
        "guarantee": { "after": 10, "tier": 2 }, "consolation": "consolation",
        "prizes": [
            { "slug": "tv", "name": "品牌电视", "tier": 1, "kind": "physical", "value_fen": 499900, "weight_bp": 10, "stock": 2, "per_user_total": 1 },
            { "slug": "coupon50", "name": "50元立减金", "tier": 2, "kind": "coupon", "value_fen": 5000, "weight_bp": 990, "stock": 100 },
            { "slug": "points88", "name": "88积分", "tier": 3, "kind": "points", "points": 88, "weight_bp": 4000 },
            { "slug": "thanks", "name": "谢谢参与", "tier": 9, "kind": "thanks", "weight_bp": 5000 },
            { "slug": "consolation", "name": "10积分", "tier": 9, "kind": "points", "points": 10, "weight_bp": 0 }
        ]
    })
}

/// One prize, always drawn: `points` points, `stock` of them.
fn single_prize_pool(points: i64, stock: Option<u32>) -> Value {
    json!({
        "slug": "year-end", "name": "单奖池", "kind": "lottery", "daily_free_chances": 0,
        "prizes": [{ "slug": "only", "name": "积分", "tier": 1, "kind": "points", "points": points, "weight_bp": 10000, "stock": stock }]
    })
}

async fn pool_id(app: &TestApp) -> i64 {
    prize_pools::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn draw(app: &TestApp, token: &str, key: &str) -> reqwest::Response {
    app.api
        .post(app.url(DRAWS))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_published_odds_come_from_the_pool_and_need_no_login() {
    let app = spawn_app().await;
    app.live_campaign(&year_end_pool()).await;
    let odds: Value = app
        .get("/api/v1/campaigns/lottery-test/lottery/year-end/odds", None)
        .await
        .json()
        .await
        .unwrap();
    let shown: Vec<(&str, &str)> = odds["prizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["slug"].as_str().unwrap(),
                p["probability"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("tv", "0.10%"),
            ("coupon50", "9.90%"),
            ("points88", "40.00%"),
            ("thanks", "50.00%"),
            ("consolation", "0.00%")
        ]
    );
    assert_eq!(odds["prizes"][0]["stock_total"], 2);
    assert_eq!(odds["prizes"][4]["consolation"], true);
    assert!(odds["guarantee"].as_str().unwrap().contains("10"));
}

#[tokio::test]
async fn a_daily_free_chance_draws_once_a_day_and_a_points_prize_is_credited() {
    let app = spawn_app().await;
    app.live_campaign(&json!({
        "slug": "year-end", "name": "每日抽", "kind": "lottery", "daily_free_chances": 1,
        "prizes": [{ "slug": "only", "name": "88积分", "tier": 3, "kind": "points", "points": 88, "weight_bp": 10000 }]
    })).await;
    let (_, token) = app.customer("oLotteryUser01").await;

    let first = draw(&app, &token, "draw-key-0001").await;
    assert_eq!(first.status(), 200);
    let result: Value = first.json().await.unwrap();
    assert_eq!(result["prize"]["slug"], "only");
    let second = draw(&app, &token, "draw-key-0002").await;
    assert_eq!(
        (second.status().as_u16(), error_code(second).await.as_str()),
        (409, "no_chance")
    );
    let points: Value = app
        .get("/api/v1/me/points", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(points["balance"], 88);
    assert_eq!(points["entries"][0]["reason"], "lottery_prize");

    app.clock.advance(Duration::days(1));
    assert_eq!(
        draw(&app, &token, "draw-key-0003").await.status(),
        200,
        "a new day, a new free chance"
    );
}

async fn chances_left(app: &TestApp, token: &str) -> (u64, u64) {
    let response = app
        .get(
            "/api/v1/campaigns/lottery-test/lottery/year-end/chances",
            Some(token),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    (
        body["left"].as_u64().unwrap(),
        body["free_today"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn the_chances_left_count_todays_free_chance_and_every_grant_less_the_draws() {
    let app = spawn_app().await;
    app.live_campaign(&year_end_pool()).await;
    let (user_id, token) = app.customer("oLotteryUser01").await;
    assert_eq!(
        chances_left(&app, &token).await,
        (1, 1),
        "today's free chance"
    );
    grant_chances(
        app.state.context(),
        user_id,
        "lottery-test",
        pool_id(&app).await,
        "test",
        "test:3",
        3,
    )
    .await
    .unwrap();
    assert_eq!(chances_left(&app, &token).await, (4, 1));
    assert_eq!(draw(&app, &token, "draw-key-0001").await.status(), 200);
    assert_eq!(
        chances_left(&app, &token).await,
        (3, 0),
        "the free chance is granted and used"
    );
    app.clock.advance(Duration::days(1));
    assert_eq!(
        chances_left(&app, &token).await,
        (4, 1),
        "a new day, a new free chance"
    );

    let anonymous = app
        .get(
            "/api/v1/campaigns/lottery-test/lottery/year-end/chances",
            None,
        )
        .await;
    assert_eq!(anonymous.status(), 401);
    let unknown = app
        .get(
            "/api/v1/campaigns/lottery-test/lottery/no-such-pool/chances",
            Some(&token),
        )
        .await;
    assert_eq!(
        (
            unknown.status().as_u16(),
            error_code(unknown).await.as_str()
        ),
        (404, "pool_not_found")
    );
}

/// A free chance the pool's daily cap would refuse is not counted as left.
#[tokio::test]
async fn the_chances_left_leave_out_a_free_chance_the_daily_cap_refuses() {
    let app = spawn_app().await;
    let mut pool = single_prize_pool(5, None);
    pool["daily_free_chances"] = json!(1);
    pool["chance_daily_cap"] = json!(2);
    app.live_campaign(&pool).await;
    let (user_id, token) = app.customer("oLotteryUser01").await;
    let granted = grant_chances(
        app.state.context(),
        user_id,
        "lottery-test",
        pool_id(&app).await,
        "test",
        "test:2",
        2,
    )
    .await
    .unwrap();
    assert_eq!(granted, 2);
    assert_eq!(
        chances_left(&app, &token).await,
        (2, 0),
        "the cap is reached: no free chance today"
    );
    for key in ["draw-key-0001", "draw-key-0002"] {
        assert_eq!(draw(&app, &token, key).await.status(), 200);
    }
    let third = draw(&app, &token, "draw-key-0003").await;
    assert_eq!(
        (third.status().as_u16(), error_code(third).await.as_str()),
        (409, "no_chance"),
        "as the count said"
    );
    assert_eq!(chances_left(&app, &token).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_repeats_of_one_key_draw_and_grant_once() {
    // Past the per-user rate limit, the 429s would be answered before idempotency is even consulted.
    let app = spawn_app_with(&[("APP__RATE_LIMIT__CUSTOMER_PER_USER__LIMIT", "1000")]).await;
    app.live_campaign(&single_prize_pool(88, None)).await;
    let (user_id, token) = app.customer("oLotteryUser01").await;
    grant_chances(
        app.state.context(),
        user_id,
        "lottery-test",
        pool_id(&app).await,
        "test",
        "test:chances",
        10,
    )
    .await
    .unwrap();

    let repeats = (0..200).map(|_| async {
        let response = draw(&app, &token, "one-tap-key-001").await;
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    });
    let answers = join_all(repeats).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .all(|(_, body)| body["draw_id"] == answers[0].1["draw_id"]),
        "identical answers"
    );
    assert_eq!(
        draw_records::Entity::find().count(&app.db).await.unwrap(),
        1
    );
    let points: Value = app
        .get("/api/v1/me/points", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(points["balance"], 88, "granted once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_draws_against_a_stock_of_ten_grant_exactly_ten() {
    let app = spawn_app_with(&[("APP__RATE_LIMIT__CUSTOMER_PER_IP__LIMIT", "100000")]).await;
    app.live_campaign(&single_prize_pool(5, Some(10))).await;
    let pool = pool_id(&app).await;
    let mut users = Vec::new();
    for i in 0..100 {
        let (user_id, token) = app.customer(&format!("oLotteryUser{i:03}")).await;
        grant_chances(
            app.state.context(),
            user_id,
            "lottery-test",
            pool,
            "test",
            &format!("test:{user_id}"),
            10,
        )
        .await
        .unwrap();
        users.push(token);
    }
    let draws = users
        .iter()
        .flat_map(|token| (0..10).map(move |n| (token, n)))
        .map(|(token, n)| {
            let app = &app;
            async move {
                let key = format!("k-{}-{n:02}", &token[token.len() - 12..]);
                // The pool's counters start unbuilt: a draw that waits too long for them is told to retry.
                let (status, body) = app
                    .draw_answered(token, "lottery-test", "year-end", &key)
                    .await;
                (status, body["code"].as_str().unwrap_or("").to_owned())
            }
        });
    let answers = join_all(draws).await;
    let mut tally: std::collections::BTreeMap<(u16, String), usize> = Default::default();
    for answer in &answers {
        *tally.entry(answer.clone()).or_default() += 1;
    }
    assert_eq!(
        tally.get(&(200, String::new())).copied().unwrap_or(0),
        10,
        "exactly the stock: {tally:?}"
    );
    assert_eq!(
        tally
            .get(&(409, "out_of_stock".to_owned()))
            .copied()
            .unwrap_or(0),
        990,
        "the rest are out_of_stock: {tally:?}"
    );
    assert_eq!(
        draw_records::Entity::find().count(&app.db).await.unwrap(),
        10
    );
}

#[tokio::test]
async fn a_paused_or_unstarted_campaign_draws_nothing_and_spends_no_chance() {
    let app = spawn_app().await;
    let operator = app.live_campaign(&single_prize_pool(5, None)).await;
    let (_, token) = app.customer("oLotteryUser01").await;
    let (user_id, _) = app.customer("oLotteryUser01").await;
    grant_chances(
        app.state.context(),
        user_id,
        "lottery-test",
        pool_id(&app).await,
        "test",
        "test:one",
        1,
    )
    .await
    .unwrap();

    app.post_json(
        "/admin/v1/campaigns/lottery-test/pause",
        Some(&operator),
        &json!({ "reason": "检查奖品" }),
    )
    .await;
    let paused = draw(&app, &token, "paused-key-0001").await;
    assert_eq!(
        (paused.status().as_u16(), error_code(paused).await.as_str()),
        (409, "campaign_paused")
    );
    app.post_json(
        "/admin/v1/campaigns/lottery-test/resume",
        Some(&operator),
        &json!({ "reason": "恢复" }),
    )
    .await;
    assert_eq!(
        draw(&app, &token, "after-resume-01").await.status(),
        200,
        "the chance was not spent while paused"
    );
    assert_eq!(
        draw_records::Entity::find().count(&app.db).await.unwrap(),
        1
    );

    app.clock.advance(Duration::days(60));
    let over = draw(&app, &token, "too-late-key-01").await;
    assert_eq!(
        (over.status().as_u16(), error_code(over).await.as_str()),
        (409, "campaign_not_live")
    );
    let no_key = app
        .api
        .post(app.url(DRAWS))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(no_key).await, "idempotency_key_missing");
}

#[tokio::test]
async fn pools_are_checked_and_frozen_once_the_campaign_is_live() {
    let app = spawn_app().await;
    let operator = app.live_campaign(&year_end_pool()).await;
    let mut another = single_prize_pool(5, None);
    another["slug"] = json!("second-pool");
    let frozen = app
        .post_json(
            "/admin/v1/campaigns/lottery-test/pools",
            Some(&operator),
            &another,
        )
        .await;
    assert_eq!(
        (frozen.status().as_u16(), error_code(frozen).await.as_str()),
        (409, "pool_frozen")
    );

    // A fresh app whose campaign is still upcoming checks the pool itself.
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let base = app.clock.now();
    let at = |d: Duration| wxcampaign::calendar::shanghai(base + d);
    app.post_json("/admin/v1/campaigns", Some(&operator), &json!({
        "slug": "upcoming", "name": "n", "theme": "t", "year": 2026, "quarter": 4, "rules_text": "r",
        "preheat_at": at(Duration::days(1)), "starts_at": at(Duration::days(2)), "ends_at": at(Duration::days(9))
    })).await;
    let mut bad_odds = year_end_pool();
    bad_odds["prizes"][3]["weight_bp"] = json!(4000);
    let mut too_valuable = year_end_pool();
    too_valuable["prizes"][0]["value_fen"] = json!(5_000_001);
    for body in [bad_odds, too_valuable] {
        let response = app
            .post_json("/admin/v1/campaigns/upcoming/pools", Some(&operator), &body)
            .await;
        assert_eq!(
            (
                response.status().as_u16(),
                error_code(response).await.as_str()
            ),
            (400, "invalid_pool")
        );
    }
    assert_eq!(prize_pools::Entity::find().count(&app.db).await.unwrap(), 0);
}

/// A store that lost everything (a Redis flush) is rebuilt from the draw records by the first draws that need
/// it, with no reconciliation run: no stock is sold twice and no chance or record is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flushed_store_is_rebuilt_on_demand_and_loses_no_stock_no_chance_and_no_record() {
    let app = spawn_app().await;
    app.live_campaign(&single_prize_pool(5, Some(10))).await;
    let pool = pool_id(&app).await;
    let (alice, alice_token) = app.customer("oLotteryUser01").await;
    let (bob, bob_token) = app.customer("oLotteryUser02").await;
    grant_chances(
        app.state.context(),
        alice,
        "lottery-test",
        pool,
        "test",
        "test:alice",
        10,
    )
    .await
    .unwrap();
    grant_chances(
        app.state.context(),
        bob,
        "lottery-test",
        pool,
        "test",
        "test:bob",
        20,
    )
    .await
    .unwrap();
    for n in 0..7 {
        assert_eq!(
            draw(&app, &alice_token, &format!("alice-draw-{n:03}"))
                .await
                .status(),
            200
        );
    }

    let flushed = app.instance_with_empty_store().await;
    let statuses: Vec<u16> = join_all((0..5).map(|n| {
        let (flushed, token) = (&flushed, &bob_token);
        async move {
            draw(flushed, token, &format!("bob-draw-{n:03}"))
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        3,
        "only the 3 left of 10: {statuses:?}"
    );
    assert_eq!(
        draw_records::Entity::find()
            .count(&flushed.db)
            .await
            .unwrap(),
        10
    );
    // Alice's chances came back too: 3 left, but the stock is gone.
    let alice_again = draw(&flushed, &alice_token, "alice-after-flush").await;
    assert_eq!(error_code(alice_again).await, "out_of_stock");
}

/// After a flush the store no longer remembers a request: a retried key gets its recorded answer, not a new
/// draw, and the store step it took is given back.
#[tokio::test]
async fn a_key_retried_after_a_flush_gets_its_recorded_prize_and_spends_nothing() {
    let app = spawn_app().await;
    app.live_campaign(&single_prize_pool(5, Some(2))).await;
    let (alice, token) = app.customer("oLotteryUser01").await;
    grant_chances(
        app.state.context(),
        alice,
        "lottery-test",
        pool_id(&app).await,
        "test",
        "test:alice",
        5,
    )
    .await
    .unwrap();
    let first: Value = draw(&app, &token, "retried-key-001")
        .await
        .json()
        .await
        .unwrap();

    let flushed = app.instance_with_empty_store().await;
    wxcampaign::lottery::service::reconcile_all(
        &flushed.db,
        flushed.store.as_ref(),
        flushed.clock.now(),
    )
    .await
    .unwrap();
    let retried: Value = draw(&flushed, &token, "retried-key-001")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(retried["draw_id"], first["draw_id"]);
    assert_eq!(
        draw_records::Entity::find()
            .count(&flushed.db)
            .await
            .unwrap(),
        1
    );
    // The retry took no stock: the second (last) prize is still there.
    assert_eq!(
        draw(&flushed, &token, "second-key-0001").await.status(),
        200
    );
    let points: Value = flushed
        .get("/api/v1/me/points", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(points["balance"], 10);
}

#[tokio::test]
async fn a_blind_box_publishes_values_and_odds_but_reveals_a_prize_only_when_drawn() {
    let app = spawn_app().await;
    app.live_campaign(&json!({
        "slug": "year-end", "name": "中秋财富盲盒", "kind": "blind_box", "daily_free_chances": 1,
        "prizes": [{ "slug": "mooncake", "name": "中秋月饼礼盒", "tier": 1, "kind": "physical", "value_fen": 26800, "weight_bp": 10000 }]
    })).await;
    let odds: Value = app
        .get("/api/v1/campaigns/lottery-test/lottery/year-end/odds", None)
        .await
        .json()
        .await
        .unwrap();
    let published = &odds["prizes"][0];
    assert_eq!(
        (
            published["value_fen"].as_i64(),
            published["probability"].as_str()
        ),
        (Some(26800), Some("100.00%"))
    );
    assert!(
        !published["name"].as_str().unwrap().contains("月饼"),
        "hidden before it is drawn"
    );
    let (_, token) = app.customer("oLotteryUser01").await;
    let drawn: Value = draw(&app, &token, "open-the-box-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(drawn["prize"]["name"], "中秋月饼礼盒");
}

async fn buy_chances(app: &TestApp, token: &str, count: u32, key: &str) -> reqwest::Response {
    app.api
        .post(app.url("/api/v1/campaigns/lottery-test/lottery/year-end/chances"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({ "count": count }))
        .send()
        .await
        .unwrap()
}

fn capped_pool(cost: Option<u32>) -> Value {
    json!({
        "slug": "year-end", "name": "限次奖池", "kind": "lottery", "daily_free_chances": 0,
        "chance_daily_cap": 3, "chance_total_cap": 5, "chance_cost_points": cost,
        "prizes": [{ "slug": "only", "name": "积分", "tier": 1, "kind": "points", "points": 1, "weight_bp": 10000 }]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chance_grants_stop_at_the_daily_and_total_caps_even_when_concurrent() {
    let app = spawn_app().await;
    app.live_campaign(&capped_pool(None)).await;
    let pool = pool_id(&app).await;
    let (alice, _) = app.customer("oLotteryUser01").await;
    let grant = |user, source_ref: &'static str, amount| {
        let state = app.state.clone();
        async move {
            grant_chances(
                state.context(),
                user,
                "lottery-test",
                pool,
                "quiz_passed",
                source_ref,
                amount,
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(grant(alice, "quiz:1", 2).await, 2);
    assert_eq!(grant(alice, "poster:1", 5).await, 1, "the daily cap of 3");
    assert_eq!(
        grant(alice, "poster:1", 5).await,
        0,
        "a repeat grants nothing"
    );
    app.clock.advance(Duration::days(1));
    assert_eq!(grant(alice, "quiz:2", 5).await, 2, "the total cap of 5");

    let (bob, _) = app.customer("oLotteryUser02").await;
    let refs: Vec<String> = (0..20).map(|i| format!("share:{i}")).collect();
    let granted: u32 = join_all(refs.iter().map(|r| {
        let state = app.state.clone();
        async move {
            grant_chances(
                state.context(),
                bob,
                "lottery-test",
                pool,
                "poster_shared",
                r,
                1,
            )
            .await
            .unwrap()
        }
    }))
    .await
    .into_iter()
    .sum();
    assert_eq!(
        granted, 3,
        "concurrent grants cannot pass the daily cap together"
    );
}

#[tokio::test]
async fn points_buy_chances_once_per_key_within_the_caps() {
    let app = spawn_app().await;
    app.live_campaign(&capped_pool(Some(50))).await;
    let (alice, token) = app.customer("oLotteryUser01").await;
    app.seed_points(alice, 130).await;
    let buy = |count: u32, key: &'static str| buy_chances(&app, &token, count, key);
    for _ in 0..2 {
        assert_eq!(buy(2, "buy-two-chances").await.status(), 200);
    }
    assert_eq!(draw(&app, &token, "bought-draw-001").await.status(), 200);
    assert_eq!(draw(&app, &token, "bought-draw-002").await.status(), 200);
    assert_eq!(
        error_code(draw(&app, &token, "bought-draw-003").await).await,
        "no_chance",
        "two bought, once"
    );

    let over_cap = buy(2, "buy-over-the-cap").await;
    assert_eq!(error_code(over_cap).await, "chance_cap_reached");
    let too_poor = buy(1, "buy-too-poor-01").await;
    assert_eq!(error_code(too_poor).await, "insufficient_points");
    assert_eq!(
        app.points_balance(&token).await,
        32,
        "130 - 100 for two chances + 2 points won; the refusals took nothing"
    );
}

#[tokio::test]
async fn a_chance_purchase_key_reused_with_another_count_is_422_even_after_the_store_forgets() {
    let app = spawn_app().await;
    app.live_campaign(&capped_pool(Some(10))).await;
    let (alice, token) = app.customer("oLotteryReuse01").await;
    app.seed_points(alice, 100).await;
    const KEY: &str = "buy-reused-key-1";
    assert_eq!(buy_chances(&app, &token, 1, KEY).await.status(), 200);
    let other_count = buy_chances(&app, &token, 2, KEY).await;
    assert_eq!(other_count.status(), 422);
    assert_eq!(error_code(other_count).await, "idempotency_key_reused");

    let forgetful = app.instance_with_empty_store().await;
    let other_count = buy_chances(&forgetful, &token, 2, KEY).await;
    assert_eq!(other_count.status(), 422, "the grant row remembers the key");
    assert_eq!(error_code(other_count).await, "idempotency_key_reused");
    assert_eq!(
        app.points_balance(&token).await,
        90,
        "one chance bought, once"
    );
}

/// Draws through the real service, each run with fresh randomness (a new seed every run, not one fixed seed),
/// fit the demo mid-autumn box's own published odds. One draw per customer keeps the per-customer limits and the
/// guarantee out of it, and the stocks are far above what the draws can use. Chi-square with 2 degrees of
/// freedom at p = 0.0001: the critical value is -2 ln(0.0001) = 18.42.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn draws_through_the_service_fit_a_demo_pools_published_odds() {
    use wxcampaign::lottery::service::{draw, grant_chances, odds};
    use wxcampaign::users::service::{link_user, Channel};

    let app = spawn_app().await;
    app.demo_year_at("2026-09-15 12:00").await;
    let (campaign, pool) = ("q3-2026-autumn", "mid-autumn-box-2026");
    let published = odds(&app.db, campaign, pool).await.unwrap().prizes;
    let live_pools = wxcampaign::lottery::service::LivePools::default();
    let pool_id = prize_pools::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.slug == pool)
        .unwrap()
        .id;
    let draws = 3_000usize;
    let won: Vec<String> = futures::stream::iter(0..draws)
        .map(|i| {
            let (app, live_pools) = (&app, &live_pools);
            async move {
                let openid = format!("oOddsCustomer{i:06}");
                let user = link_user(
                    &app.db,
                    Channel::MiniProgram,
                    &openid,
                    None,
                    app.state.context().now,
                )
                .await
                .unwrap();
                let cx = app.state.context();
                grant_chances(cx, user.id, campaign, pool_id, "test", &openid, 1)
                    .await
                    .unwrap();
                draw(cx, live_pools, user.id, campaign, pool, "odds-draw-1")
                    .await
                    .unwrap()
                    .prize
                    .slug
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let chi_square: f64 = published
        .iter()
        .map(|prize| {
            let observed = won.iter().filter(|slug| **slug == prize.slug).count() as f64;
            let expected = draws as f64 * f64::from(prize.weight_bp) / 10_000.0;
            (observed - expected).powi(2) / expected
        })
        .sum();
    assert_eq!(published.len(), 3);
    assert!(
        chi_square < 18.42,
        "the draws do not fit the published odds (chi-square {chi_square:.2})"
    );
}
