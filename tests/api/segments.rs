//! Behaviour events, the CRM's asset tiers and segments: what community managers aim pushes with.

use chrono::Duration;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use wxcampaign::audit::Actor;
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;
use wxcampaign::entities::behaviour_events;
use wxcampaign::outbox::{self, EventKind};

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp};

const CAMPAIGN: &str = "segment-test";

async fn count_views(app: &TestApp) -> u64 {
    behaviour_events::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}

async fn report(app: &TestApp, token: &str, events: Value) -> reqwest::Response {
    app.post_json("/api/v1/events", Some(token), &json!({ "events": events }))
        .await
}

/// A live campaign with no activities, for participation.
async fn campaign(app: &TestApp) -> i64 {
    let operator = app.staff_token("olivia", Role::Operator).await;
    let base = app.clock.now();
    let at = |d: Duration| wxcampaign::calendar::shanghai(base + d);
    let campaign = json!({
        "slug": CAMPAIGN, "name": "人群测试", "theme": "感恩", "year": 2026, "quarter": 4,
        "preheat_at": at(Duration::minutes(30)), "starts_at": at(Duration::hours(1)), "ends_at": at(Duration::days(90)),
        "rules_text": "规则", "prize_summary": "见活动页"
    });
    app.launch_campaign(&operator, &campaign).await;
    wxcampaign::campaigns::gate::find_campaign(&app.db, CAMPAIGN)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The count a rule previews to, asserting it answered 200.
async fn preview_count(app: &TestApp, manager: &str, rule: &str) -> u64 {
    let response = app
        .post_json(
            "/admin/v1/segments/preview",
            Some(manager),
            &json!({ "rule": rule }),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{rule}: {body}");
    body["count"].as_u64().unwrap()
}

#[tokio::test]
async fn views_are_checked_against_the_schema_and_recorded_all_or_none() {
    let app = spawn_app().await;
    campaign(&app).await;
    let (_, token) = app.customer("oViewer000001").await;
    let good = json!([
        { "kind": "page_view", "page": "pages/tasks/index", "campaign": CAMPAIGN },
        { "kind": "content_view", "category": "mortgage", "content": "mortgage-guide" }
    ]);
    let response = report(&app, &token, good).await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<Value>().await.unwrap()["recorded"], 2);
    assert_eq!(count_views(&app).await, 2);

    for (events, field) in [
        (
            json!([{ "kind": "page_view", "page": "pages/a" }, { "kind": "content_view", "category": "gambling" }]),
            "events[1].category",
        ),
        (
            json!([{ "kind": "page_view", "page": "pages/a", "campaign": "no-such" }]),
            "events[0].campaign",
        ),
        (
            json!([{ "kind": "page_view", "page": "<script>" }]),
            "events[0].page",
        ),
        (json!([{ "kind": "page_view" }]), "events[0].page"),
        (json!([]), "events"),
        (
            json!(vec![json!({ "kind": "page_view", "page": "pages/a" }); 21]),
            "events",
        ),
    ] {
        let response = report(&app, &token, events.clone()).await;
        assert_eq!(response.status(), 400, "{events}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_events", "{events}");
        assert_eq!(body["field"], field, "{events}");
    }
    let unknown_kind = report(
        &app,
        &token,
        json!([{ "kind": "share", "page": "pages/a" }]),
    )
    .await;
    assert_eq!(unknown_kind.status(), 400);
    assert_eq!(
        count_views(&app).await,
        2,
        "a refused batch records nothing"
    );
    let anonymous = app
        .post_json("/api/v1/events", None, &json!({ "events": [] }))
        .await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_customer_reporting_too_often_is_limited() {
    let app = spawn_app_with(&[("APP__RATE_LIMIT__BEHAVIOUR_EVENTS__LIMIT", "3")]).await;
    let (_, token) = app.customer("oViewer000002").await;
    let view = json!([{ "kind": "page_view", "page": "pages/index/index" }]);
    for _ in 0..3 {
        assert_eq!(report(&app, &token, view.clone()).await.status(), 202);
    }
    let limited = report(&app, &token, view.clone()).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(count_views(&app).await, 3);
    // Another customer has their own budget.
    let (_, other) = app.customer("oViewer000003").await;
    assert_eq!(report(&app, &other, view).await.status(), 202);
}

#[tokio::test]
async fn views_past_the_retention_are_purged() {
    let app = spawn_app().await;
    let (_, token) = app.customer("oViewer000004").await;
    let view = json!([{ "kind": "page_view", "page": "pages/index/index" }]);
    report(&app, &token, view.clone()).await;
    app.clock.advance(Duration::days(100));
    report(&app, &token, view).await;
    app.clock.advance(Duration::days(81));
    let settings = &app.settings.behaviour;
    let purged = wxcampaign::behaviour::purge(&app.db, settings, app.clock.now())
        .await
        .unwrap();
    assert_eq!(purged, 1, "only the view older than 180 days");
    assert_eq!(count_views(&app).await, 1);
}

#[tokio::test]
async fn rules_select_customers_by_attributes_tags_views_and_events() {
    let app = spawn_app().await;
    let campaign_id = campaign(&app).await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    // Four customers first seen 60 days ago; two stay active, one is dormant, one is blocked.
    let old_active = app.customer_id("oOldActive0001").await;
    let (dormant, _) = app.customer("oDormant000001").await;
    let (blocked, _) = app.customer("oBlocked000001").await;
    app.clock.advance(Duration::days(60));
    let (again, old_token) = app.customer("oOldActive0001").await;
    assert_eq!(again, old_active, "a login, sixty days later");
    let (new_one, new_token) = app.customer("oNewOne000001").await;
    let operator = app.staff_token("otto", Role::Operator).await;
    let blocked_answer = app
        .api
        .put(app.url(&format!("/admin/v1/users/{blocked}/disabled")))
        .bearer_auth(&operator)
        .json(&json!({ "disabled": true, "reason": "测试" }))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked_answer.status(), 200);

    let crm = format!(
        "user_id,asset_tier,tags\n{old_active},gold,房贷客户|代发工资\n{dormant},private,\n{new_one},,房贷客户\n999999,gold,\n"
    );
    let imported = wxcampaign::users::crm::import_tiers(
        &app.db,
        &Actor::cli(),
        crm.as_bytes(),
        &app.settings.segments.asset_tiers,
        app.clock.now(),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!((imported.updated, imported.unmatched), (3, 1));

    report(
        &app,
        &new_token,
        json!([{ "kind": "content_view", "category": "mortgage" }, { "kind": "page_view", "page": "pages/quiz/index", "campaign": CAMPAIGN }]),
    )
    .await;
    for _ in 0..3 {
        report(
            &app,
            &old_token,
            json!([{ "kind": "page_view", "page": "pages/quiz/index" }]),
        )
        .await;
    }
    let event = outbox::Event {
        user_id: dormant,
        kind: EventKind::QuizPassed,
        source_ref: "quiz-pass:test-1",
        campaign_id: Some(campaign_id),
        activity_id: None,
        subject: Some("1"),
        at: app.clock.now() - Duration::days(45),
    };
    outbox::record(&app.db, &event).await.unwrap();

    for (rule, expected) in [
        ("tier = \"new\"", 1),
        ("tier = \"dormant\"", 1),
        ("tier in (\"active\", \"new\")", 2),
        ("not tier = \"new\"", 2),
        ("asset_tier = \"gold\"", 1),
        // A customer with no tier yet is not gold either.
        ("asset_tier != \"gold\"", 2),
        ("tag(\"房贷客户\")", 2),
        ("tag(\"房贷客户\") and not tag(\"代发工资\")", 1),
        ("joined_days >= 60", 2),
        ("joined_days < 1", 1),
        ("inactive_days >= 30", 1),
        ("did(content_view, category = \"mortgage\", days = 7)", 1),
        ("count(page_view, page = \"pages/quiz/index\") >= 3", 1),
        ("count(page_view, page = \"pages/quiz/index\") = 1", 1),
        // Zero views meets "fewer than two": the dormant customer counts.
        ("count(page_view, days = 30) < 2", 2),
        ("did(quiz_passed, campaign = \"segment-test\")", 1),
        ("did(quiz_passed, days = 30)", 0),
        (&format!("participated(\"{CAMPAIGN}\")"), 2),
        ("following = true", 0),
        (
            "phone_bound = false and (tier = \"new\" or asset_tier = \"private\")",
            2,
        ),
    ] {
        assert_eq!(
            preview_count(&app, &manager, rule).await,
            expected,
            "{rule}"
        );
    }

    let preview: Value = app
        .post_json(
            "/admin/v1/segments/preview",
            Some(&manager),
            &json!({ "rule": "tag(\"房贷客户\")" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let sample = preview["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 2);
    assert_eq!(sample[0]["user_id"], old_active);
    assert_eq!(sample[0]["asset_tier"], "gold");
    assert_eq!(sample[0]["openid"], "oOld…0001", "openids are masked");
    assert!(!preview.to_string().contains("oOldActive0001"));
}

#[tokio::test]
async fn community_managers_save_segments_and_bad_rules_save_nothing() {
    let app = spawn_app().await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    let operator = app.staff_token("otto", Role::Operator).await;
    let auditor = app.staff_token("audrey", Role::Auditor).await;
    app.customer("oSegmentee0001").await;
    let segment = json!({ "slug": "newcomers", "name": "新客", "rule": "tier = \"new\"" });
    let refused = app
        .post_json("/admin/v1/segments", Some(&operator), &segment)
        .await;
    assert_eq!(
        refused.status(),
        403,
        "operators read segments, not write them"
    );
    let created = app
        .post_json("/admin/v1/segments", Some(&manager), &segment)
        .await;
    assert_eq!(created.status(), 201);
    let again = app
        .post_json("/admin/v1/segments", Some(&manager), &segment)
        .await;
    assert_eq!(error_code(again).await, "slug_taken");

    let audit_before = app.count_audit_entries().await;
    for (rule, says) in [
        ("tier = \"new\" and", "at character 17"),
        ("participated(\"no-such-campaign\")", "no campaign"),
        ("asset_tier = \"silver\"", "not one of"),
        ("did(content_view, category = \"casino\")", "not one of"),
    ] {
        let body = json!({ "slug": "bad", "name": "坏规则", "rule": rule });
        let response = app
            .post_json("/admin/v1/segments", Some(&manager), &body)
            .await;
        assert_eq!(response.status(), 400, "{rule}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_segment_rule", "{rule}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{rule}: {body}"
        );
    }
    let bad_slug = json!({ "slug": "Bad Slug", "name": "x", "rule": "tier = \"new\"" });
    let response = app
        .post_json("/admin/v1/segments", Some(&manager), &bad_slug)
        .await;
    assert_eq!(error_code(response).await, "invalid_segment");
    assert_eq!(
        app.count_audit_entries().await,
        audit_before,
        "nothing saved"
    );
    assert_eq!(
        app.get("/admin/v1/segments/bad", Some(&manager))
            .await
            .status(),
        404
    );

    let preview: Value = app
        .get("/admin/v1/segments/newcomers/preview", Some(&operator))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["count"], 1);
    let changed = app
        .api
        .put(app.url("/admin/v1/segments/newcomers"))
        .bearer_auth(&manager)
        .json(&json!({ "name": "老客", "rule": "tier = \"dormant\"" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let listed: Value = app
        .get("/admin/v1/segments", Some(&operator))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["rule"], "tier = \"dormant\"");
    assert_eq!(listed[0]["created_by"], "maggie");
    assert_eq!(
        app.get("/admin/v1/segments", Some(&auditor)).await.status(),
        403
    );
    let removed = app
        .api
        .delete(app.url("/admin/v1/segments/newcomers"))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(
        app.get("/admin/v1/segments/newcomers", Some(&manager))
            .await
            .status(),
        404
    );
    assert_eq!(app.count_audit_entries().await, audit_before + 2);
}

#[tokio::test]
async fn a_crm_file_naming_one_customer_twice_by_both_openids_changes_nothing() {
    let app = spawn_app().await;
    let ids = app.followers("Crm", 2).await;
    // The first customer by their mini-program openid, then by their official account's.
    let file = "openid,asset_tier\noMpCrm000000,gold\noOaCrm000001,gold\noOaCrm000000,private\n";
    let refused = wxcampaign::users::crm::import_tiers(
        &app.db,
        &Actor::cli(),
        file.as_bytes(),
        &app.settings.segments.asset_tiers,
        app.clock.now(),
        &|_, _| {},
    )
    .await;
    let Err(wxcampaign::users::crm::CrmImportError::Rows(problems)) = refused else {
        panic!("two rows name one customer: {refused:?}");
    };
    assert_eq!(
        problems,
        vec!["line 4: names the same customer as line 2".to_owned()]
    );
    for id in ids {
        let user = wxcampaign::entities::users::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.asset_tier, None, "nothing imported");
    }
}
