//! Triggered journeys: each step fires once per customer as the clock moves.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{json, Value};
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;
use wxcampaign::entities::{behaviour_events, push_deliveries, users};
use wxcampaign::push;
use wxcampaign::rewards::{Grant, Reward, Rewards};

use crate::helpers::{error_code, spawn_app_with, TestApp};

const SUBSCRIBE_SEND: &str = "/cgi-bin/message/subscribe/send";

fn shanghai(text: &str) -> DateTime<Utc> {
    wxcampaign::calendar::parse_time(text).unwrap()
}

/// One minute of the scheduler: journeys, then releases, then the workers until the queue is empty.
async fn minute(app: &TestApp) {
    wxcampaign::journeys::run(app.delivering(), &app.settings)
        .await
        .unwrap();
    push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    while push::work(app.delivering(), "w", 10, None)
        .await
        .unwrap()
        .messages
        > 0
    {}
}

async fn deliveries(app: &TestApp) -> Vec<push_deliveries::Model> {
    push_deliveries::Entity::find().all(&app.db).await.unwrap()
}

/// A subscribe-message journey (customers of the mini-program, each with consents to spend), turned on: its
/// `thing1` is `text`, with the variables its trigger fills.
async fn journey(
    app: &TestApp,
    manager: &str,
    slug: &str,
    trigger: Value,
    delay_minutes: u32,
    text: &str,
) {
    let body = json!({
        "slug": slug, "name": slug, "trigger": trigger, "delay_minutes": delay_minutes,
        "channel": "subscribe",
        "variants": [{ "name": "A", "template_id": "TMPL_J", "page": "pages/index/index",
                       "fields": { "thing1": text, "time2": "{{today}}" } }]
    });
    let created = app
        .post_json("/admin/v1/journeys", Some(manager), &body)
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let on = app
        .post_json(
            &format!("/admin/v1/journeys/{slug}/enable"),
            Some(manager),
            &json!({}),
        )
        .await;
    assert_eq!(on.status(), 200);
}

/// A customer with plenty of consents to the journeys' template.
async fn customer(app: &TestApp, openid: &str) -> (i64, String) {
    let (id, token) = app.customer(openid).await;
    for _ in 0..10 {
        app.post_json(
            "/api/v1/me/subscriptions",
            Some(&token),
            &json!({ "results": { "TMPL_J": "accept" } }),
        )
        .await;
    }
    (id, token)
}

async fn app() -> (TestApp, String) {
    let app = spawn_app_with(&[
        ("APP__PUSH__PER_CUSTOMER_DAILY", "10"),
        ("APP__PUSH__PER_CUSTOMER_WEEKLY", "50"),
    ])
    .await;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    app.wechat.issues_token("JOURNEY_TOKEN").await;
    app.wechat
        .answers(
            "POST",
            SUBSCRIBE_SEND,
            json!({ "errcode": 0, "errmsg": "ok" }),
        )
        .await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    (app, manager)
}

#[tokio::test]
async fn a_content_follow_up_fires_once_per_customer_after_its_delay() {
    let (app, manager) = app().await;
    journey(
        &app,
        &manager,
        "mortgage-follow-up",
        json!({ "kind": "content_viewed", "category": "mortgage", "within_hours": 24 }),
        120,
        "房贷月供计算器",
    )
    .await;
    let (_, reader) = customer(&app, "oMortgageRdr1").await;
    let (_, other) = customer(&app, "oWealthReader").await;
    let view =
        |category: &str| json!({ "events": [{ "kind": "content_view", "category": category }] });
    app.post_json("/api/v1/events", Some(&reader), &view("mortgage"))
        .await;
    app.post_json("/api/v1/events", Some(&other), &view("wealth"))
        .await;
    minute(&app).await;
    let waiting = deliveries(&app).await;
    assert_eq!(waiting.len(), 1, "only the mortgage reader");
    assert_eq!(waiting[0].status, "held");
    assert_eq!(waiting[0].reason.as_deref(), Some("journey_delay"));
    app.clock.advance(Duration::minutes(119));
    minute(&app).await;
    assert_eq!(
        app.wechat.calls(SUBSCRIBE_SEND).await,
        0,
        "not before its delay"
    );
    app.clock.advance(Duration::minutes(1));
    minute(&app).await;
    assert_eq!(app.wechat.calls(SUBSCRIBE_SEND).await, 1);
    // Reading again, the next day, fires nothing more: once per customer.
    app.clock.advance(Duration::days(1));
    app.post_json("/api/v1/events", Some(&reader), &view("mortgage"))
        .await;
    for _ in 0..3 {
        minute(&app).await;
        app.clock.advance(Duration::hours(3));
    }
    assert_eq!(deliveries(&app).await.len(), 1);
    assert_eq!(app.wechat.calls(SUBSCRIBE_SEND).await, 1);
}

#[tokio::test]
async fn a_coupon_expiring_in_three_days_is_reminded_once() {
    let (app, manager) = app().await;
    let operator = app.staff_token("otto", Role::Operator).await;
    let template = json!({ "slug": "shop-20", "name": "商户满减券", "value_fen": 2000, "min_spend_fen": 10000, "valid_days": 5 });
    let created = app
        .post_json("/admin/v1/coupon-templates", Some(&operator), &template)
        .await;
    assert_eq!(created.status(), 201);
    let (user_id, _) = customer(&app, "oCouponHolder").await;
    let txn = wxcampaign::db::begin_write(&app.db).await.unwrap();
    let grant = Grant {
        user_id,
        source_ref: "test:coupon",
        reward: Reward::Coupon {
            template: "shop-20",
        },
    };
    Rewards::new(app.clock.now())
        .grant(&txn, &grant)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    journey(
        &app,
        &manager,
        "coupon-expiring",
        json!({ "kind": "coupon_expiring", "days": 3 }),
        0,
        "{{coupon_name}}",
    )
    .await;
    minute(&app).await;
    assert!(deliveries(&app).await.is_empty(), "five days left");
    app.clock.advance(Duration::days(3));
    for _ in 0..3 {
        minute(&app).await;
    }
    let sent = deliveries(&app).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, "sent");
    assert!(sent[0].step.starts_with("coupon:"));
    let body: Value =
        serde_json::from_slice(&app.wechat.requests(SUBSCRIBE_SEND).await[0].body).unwrap();
    assert_eq!(body["data"]["thing1"]["value"], "商户满减券");
}

#[tokio::test]
async fn a_dormant_customer_is_woken_once_a_spell() {
    let (app, manager) = app().await;
    journey(
        &app,
        &manager,
        "wake-up",
        json!({ "kind": "dormant", "days": 30 }),
        0,
        "好久不见",
    )
    .await;
    // A variable the trigger does not fill would go out empty: refused when saved.
    let empty = json!({ "slug": "empty", "name": "empty", "channel": "subscribe",
        "trigger": { "kind": "dormant", "days": 30 },
        "variants": [{ "name": "A", "template_id": "T", "fields": { "thing1": "{{coupon_name}}" } }] });
    let refused = app
        .post_json("/admin/v1/journeys", Some(&manager), &empty)
        .await;
    assert_eq!(error_code(refused).await, "invalid_push");
    let mass = json!({ "slug": "mass", "name": "mass", "channel": "mass",
        "trigger": { "kind": "dormant", "days": 30 },
        "variants": [{ "name": "A", "media_id": "M" }] });
    let refused = app
        .post_json("/admin/v1/journeys", Some(&manager), &mass)
        .await;
    assert_eq!(
        error_code(refused).await,
        "invalid_push",
        "a journey is one customer at a time"
    );
    let (user_id, _) = customer(&app, "oSleepyCust01").await;
    minute(&app).await;
    assert!(deliveries(&app).await.is_empty());
    app.clock.advance(Duration::days(31));
    minute(&app).await;
    minute(&app).await;
    assert_eq!(deliveries(&app).await.len(), 1);
    // Back for a day (a login), then quiet for another month: a second spell, a second message.
    app.customer("oSleepyCust01").await;
    minute(&app).await;
    assert_eq!(deliveries(&app).await.len(), 1);
    app.clock.advance(Duration::days(31));
    minute(&app).await;
    let woken = push_deliveries::Entity::find()
        .filter(push_deliveries::Column::UserId.eq(user_id))
        .filter(push_deliveries::Column::Status.eq("sent"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(woken, 2);
}

#[tokio::test]
async fn the_new_customer_plan_reminds_each_day_once_and_a_journey_off_sends_nothing() {
    let (app, manager) = app().await;
    app.demo_year_at("2026-01-21T09:00:00+08:00").await;
    journey(
        &app,
        &manager,
        "plan-days",
        json!({ "kind": "plan_day" }),
        0,
        "{{plan_tip}}",
    )
    .await;
    customer(&app, "oPlanNewcomer").await;
    for _ in 0..3 {
        minute(&app).await;
    }
    let day_one = deliveries(&app).await;
    assert_eq!(day_one.len(), 1);
    assert!(day_one[0].step.ends_with(":1"), "{}", day_one[0].step);
    app.clock.advance(Duration::days(1));
    minute(&app).await;
    minute(&app).await;
    let steps: Vec<String> = deliveries(&app).await.into_iter().map(|d| d.step).collect();
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(steps[1].ends_with(":2"));
    let body: Value =
        serde_json::from_slice(&app.wechat.requests(SUBSCRIBE_SEND).await[1].body).unwrap();
    assert_eq!(body["data"]["thing1"]["value"], "记账的好处");
    // Off: the next day's step does not fire.
    let off = app
        .post_json(
            "/admin/v1/journeys/plan-days/disable",
            Some(&manager),
            &json!({}),
        )
        .await;
    assert_eq!(off.status(), 200);
    app.clock.advance(Duration::days(1));
    minute(&app).await;
    assert_eq!(deliveries(&app).await.len(), 2);
    let unknown = app
        .post_json(
            "/admin/v1/journeys/no-such/enable",
            Some(&manager),
            &json!({}),
        )
        .await;
    assert_eq!(error_code(unknown).await, "journey_not_found");
}

#[tokio::test]
async fn a_pre_announcement_reaches_its_segment_once_in_its_window() {
    let (app, manager) = app().await;
    let operator = app.staff_token("otto", Role::Operator).await;
    let base = app.clock.now();
    let at = |d: Duration| wxcampaign::calendar::shanghai(base + d);
    let campaign = json!({
        "slug": "spring-2027", "name": "新春财富嘉年华", "theme": "新春", "year": 2027, "quarter": 1,
        "preheat_at": at(Duration::days(1)), "starts_at": at(Duration::days(2)), "ends_at": at(Duration::days(60)),
        "rules_text": "规则", "prize_summary": "见活动页"
    });
    let created = app
        .post_json("/admin/v1/campaigns", Some(&operator), &campaign)
        .await;
    assert_eq!(created.status(), 201);
    let segment = json!({ "slug": "everyone", "name": "全部", "rule": "phone_bound = false" });
    app.post_json("/admin/v1/segments", Some(&manager), &segment)
        .await;
    journey(
        &app,
        &manager,
        "spring-teaser",
        json!({ "kind": "pre_announcement", "campaign": "spring-2027", "segment": "everyone", "hours_before": 24 }),
        0,
        "{{campaign_name}}",
    )
    .await;
    customer(&app, "oTeaserCust01").await;
    customer(&app, "oTeaserCust02").await;
    minute(&app).await;
    assert!(deliveries(&app).await.is_empty(), "more than a day before");
    app.clock.advance(Duration::hours(25));
    minute(&app).await;
    minute(&app).await;
    assert_eq!(app.wechat.calls(SUBSCRIBE_SEND).await, 2);
    app.clock.advance(Duration::days(2));
    minute(&app).await;
    assert_eq!(
        deliveries(&app).await.len(),
        2,
        "once, and never after the start"
    );
    let bad = json!({ "slug": "bad", "name": "bad", "channel": "subscribe",
        "trigger": { "kind": "pre_announcement", "campaign": "no-such", "segment": "everyone", "hours_before": 24 },
        "variants": [{ "name": "A", "template_id": "T", "fields": { "thing1": "x" } }] });
    let refused = app
        .post_json("/admin/v1/journeys", Some(&manager), &bad)
        .await;
    assert_eq!(error_code(refused).await, "invalid_push");
}

#[tokio::test]
async fn a_journeys_condition_is_part_of_its_search_so_those_it_leaves_out_never_crowd_the_rest() {
    let (app, manager) = app().await;
    let now = app.clock.now();
    // More mortgage readers than one evaluation takes up, none of them a gold customer, all before ours.
    let crowd_ids = app.followers("Crowd", 5_001).await;
    let views: Vec<behaviour_events::ActiveModel> = crowd_ids
        .iter()
        .map(|id| behaviour_events::ActiveModel {
            user_id: Set(*id),
            kind: Set("content_view".into()),
            category: Set(Some("mortgage".into())),
            occurred_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in views.chunks(1_000) {
        behaviour_events::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&app.db)
            .await
            .unwrap();
    }
    let (gold, reader) = customer(&app, "oGoldReader01").await;
    users::Entity::update_many()
        .col_expr(
            users::Column::AssetTier,
            sea_orm::sea_query::Expr::value("gold"),
        )
        .filter(users::Column::Id.eq(gold))
        .exec(&app.db)
        .await
        .unwrap();
    app.post_json(
        "/api/v1/events",
        Some(&reader),
        &json!({ "events": [{ "kind": "content_view", "category": "mortgage" }] }),
    )
    .await;
    let body = json!({
        "slug": "gold-mortgage", "name": "gold-mortgage",
        "trigger": { "kind": "content_viewed", "category": "mortgage", "within_hours": 24 },
        // An `or`: what the search adds beside the condition must not become one of its branches.
        "condition": "asset_tier = \"gold\" or asset_tier = \"private\"",
        "channel": "subscribe",
        "variants": [{ "name": "A", "template_id": "TMPL_J", "page": "pages/index/index",
                       "fields": { "thing1": "房贷月供计算器", "time2": "{{today}}" } }]
    });
    let created = app
        .post_json("/admin/v1/journeys", Some(&manager), &body)
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let on = app
        .post_json(
            "/admin/v1/journeys/gold-mortgage/enable",
            Some(&manager),
            &json!({}),
        )
        .await;
    assert_eq!(on.status(), 200);
    minute(&app).await;
    let fired = deliveries(&app).await;
    assert_eq!(fired.len(), 1, "the gold reader, in the first evaluation");
    assert_eq!(fired[0].user_id, gold);
    assert_eq!(app.wechat.calls(SUBSCRIBE_SEND).await, 1);
}
