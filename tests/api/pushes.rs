//! Pushes to segments: each customer reached at most once whatever stops, every WeChat limit a counted reason.

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;
use wxcampaign::entities::{push_deliveries, subscribe_consents, users};
use wxcampaign::push::{self, Pass};

use crate::helpers::{error_code, spawn_app_with, TestApp};

const TEMPLATE_SEND: &str = "/cgi-bin/message/template/send";
const SUBSCRIBE_SEND: &str = "/cgi-bin/message/subscribe/send";

fn shanghai(text: &str) -> DateTime<Utc> {
    wxcampaign::calendar::parse_time(text).unwrap()
}

async fn segment(app: &TestApp, manager: &str, slug: &str, rule: &str) {
    let created = app
        .post_json(
            "/admin/v1/segments",
            Some(manager),
            &json!({ "slug": slug, "name": slug, "rule": rule }),
        )
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
}

fn template_push(slug: &str, segment: &str) -> Value {
    json!({
        "slug": slug, "name": "积分到账提醒", "channel": "template", "segment": segment,
        "variants": [{ "name": "A", "template_id": "TMPL_POINTS", "page": "pages/tasks/index",
                       "fields": { "thing1": "您的积分余额{{points}}分", "time2": "{{today}}" } }]
    })
}

fn subscribe_push(slug: &str, segment: &str) -> Value {
    json!({
        "slug": slug, "name": "活动提醒", "channel": "subscribe", "segment": segment,
        "variants": [{ "name": "A", "template_id": "TMPL_REMIND", "page": "pages/tasks/index",
                       "fields": { "thing1": "年终问答开始了", "time2": "{{today}}" } }]
    })
}

/// Saves the draft `push`.
async fn create(app: &TestApp, manager: &str, push: &Value) {
    let created = app.post_json("/admin/v1/pushes", Some(manager), push).await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
}

async fn create_and_send(app: &TestApp, manager: &str, push: &Value) -> Value {
    create(app, manager, push).await;
    let slug = push["slug"].as_str().unwrap();
    let sent = app
        .post_json(
            &format!("/admin/v1/pushes/{slug}/send"),
            Some(manager),
            &json!({}),
        )
        .await;
    let status = sent.status();
    let body: Value = sent.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Works the queue as `consumer` until it is empty.
async fn drain(app: &TestApp, consumer: &str) -> Pass {
    let mut total = Pass::default();
    loop {
        let pass = push::work(app.delivering(), consumer, 10, None)
            .await
            .unwrap();
        total.sent += pass.sent;
        total.failed += pass.failed;
        total.skipped += pass.skipped;
        total.held += pass.held;
        if pass.messages == 0 {
            return total;
        }
    }
}

async fn counts(app: &TestApp, manager: &str, slug: &str) -> Value {
    let body: Value = app
        .get(&format!("/admin/v1/pushes/{slug}"), Some(manager))
        .await
        .json()
        .await
        .unwrap();
    body["counts"].clone()
}

/// WeChat answers every template message with a fresh msgid.
async fn template_messages_succeed(app: &TestApp) {
    app.wechat.issues_token("PUSH_TOKEN").await;
    app.wechat
        .answers(
            "POST",
            TEMPLATE_SEND,
            json!({ "errcode": 0, "errmsg": "ok", "msgid": 2_000_123 }),
        )
        .await;
}

/// An app at 10:00 on a Monday (`overrides` set) whose WeChat takes every template message, and a community
/// manager's token.
async fn template_app(overrides: &[(&str, &str)]) -> (TestApp, String) {
    let app = spawn_app_with(overrides).await;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    template_messages_succeed(&app).await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    (app, manager)
}

fn tousers(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            body["touser"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_customers_each_get_one_message_when_a_worker_stops_and_another_instance_takes_over(
) {
    let (app, manager) = template_app(&[("APP__PUSH__RECLAIM_AFTER_SECS", "1")]).await;
    app.followers("T", 10_000).await;
    segment(&app, &manager, "everyone", "following = true").await;
    let sent = create_and_send(
        &app,
        &manager,
        &template_push("year-end-notice", "everyone"),
    )
    .await;
    assert_eq!(sent["status"], "sending");
    assert_eq!(sent["counts"]["queued"], 10_000);

    // One instance's worker takes messages and stops in the middle of one, never acking it.
    let stopped = push::work(app.delivering(), "instance-a", 30, Some(437))
        .await
        .unwrap();
    assert_eq!(stopped.sent, 437);
    // Another instance takes over: its workers, side by side, reclaim the stopped one's messages once they
    // have been idle long enough, and take the rest.
    let other = app.second_instance().await;
    tokio::time::sleep(StdDuration::from_millis(1_100)).await;
    let workers = (0..4).map(|n| {
        let other = &other;
        async move { drain(other, &format!("instance-b-{n}")).await }
    });
    let passes = futures::future::join_all(workers).await;
    let sent_by_b: u64 = passes.iter().map(|pass| pass.sent).sum();
    assert_eq!(stopped.sent + sent_by_b, 10_000);

    let requests = app.wechat.requests(TEMPLATE_SEND).await;
    assert_eq!(requests.len(), 10_000, "one call a customer, none twice");
    let distinct: HashSet<String> = tousers(&requests).into_iter().collect();
    assert_eq!(distinct.len(), 10_000);
    let first: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(first["miniprogram"]["pagepath"], "pages/tasks/index");
    assert!(first["client_msg_id"]
        .as_str()
        .unwrap()
        .starts_with("wxc-d"));
    assert_eq!(first["data"]["time2"]["value"], "2026-12-07");
    assert_eq!(first["data"]["thing1"]["value"], "您的积分余额0分");
    let counts = counts(&app, &manager, "year-end-notice").await;
    assert_eq!(counts["sent"], 10_000);
    assert_eq!(counts["queued"], 0);
    let released = push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    assert_eq!(released.finished, 1);
    let done: Value = app
        .get("/admin/v1/pushes/year-end-notice", Some(&manager))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "sent");
}

#[tokio::test]
async fn saving_a_push_checks_wechats_content_rules_and_the_segment() {
    let app = spawn_app_with(&[]).await;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    let operator = app.staff_token("otto", Role::Operator).await;
    segment(&app, &manager, "nobody", "following = true").await;
    let mut first_line = template_push("p1", "nobody");
    first_line["variants"][0]["fields"]["first"] = json!("您好");
    let mut marketing = template_push("p2", "nobody");
    marketing["variants"][0]["fields"]["thing1"] = json!("限时秒杀");
    let mut unknown = template_push("p3", "nobody");
    unknown["variants"][0]["fields"]["thing1"] = json!("{{nickname}}，您好");
    let mut split = template_push("p4", "nobody");
    split["variants"] = json!([
        { "name": "A", "weight": 60, "template_id": "T1", "fields": { "thing1": "甲" } },
        { "name": "B", "weight": 30, "template_id": "T2", "fields": { "thing1": "乙" } }
    ]);
    let mut unfilled = template_push("p7", "nobody");
    unfilled["variants"][0]["fields"]["thing1"] = json!("{{coupon_name}}");
    let two_articles = json!({ "slug": "p8", "name": "两篇", "channel": "mass", "segment": "nobody",
        "variants": [{ "name": "A", "weight": 50, "media_id": "M1" }, { "name": "B", "weight": 50, "media_id": "M2" }] });
    let mut no_segment = template_push("p5", "no-such-segment");
    no_segment["segment"] = json!("no-such-segment");
    for (push, code) in [
        (&first_line, "invalid_push"),
        (&marketing, "template_marketing"),
        (&unknown, "invalid_push"),
        (&split, "invalid_push"),
        (&unfilled, "invalid_push"),
        (&two_articles, "invalid_push"),
        (&no_segment, "segment_not_found"),
    ] {
        let response = app
            .post_json("/admin/v1/pushes", Some(&manager), push)
            .await;
        assert_eq!(error_code(response).await, code, "{push}");
    }
    let refused = app
        .post_json(
            "/admin/v1/pushes",
            Some(&operator),
            &template_push("p6", "nobody"),
        )
        .await;
    assert_eq!(refused.status(), 403);
    create(&app, &manager, &template_push("p6", "nobody")).await;
    let empty = app
        .post_json("/admin/v1/pushes/p6/send", Some(&manager), &json!({}))
        .await;
    assert_eq!(error_code(empty).await, "segment_empty");
    assert_eq!(app.wechat.calls(TEMPLATE_SEND).await, 0);
    assert_eq!(
        app.get("/admin/v1/pushes", Some(&operator)).await.status(),
        200,
        "operators read pushes"
    );
}

#[tokio::test]
async fn each_limit_skips_or_holds_with_its_counted_reason() {
    let (app, manager) = template_app(&[
        ("APP__PUSH__PER_CUSTOMER_DAILY", "1"),
        ("APP__PUSH__TEMPLATE_DAILY_CAP", "3"),
    ])
    .await;
    let ids = app.followers("L", 6).await;
    // One unfollowed, one opted out of campaign messages.
    users::Entity::update_many()
        .col_expr(
            users::Column::OaFollowing,
            sea_orm::sea_query::Expr::value(false),
        )
        .filter(users::Column::Id.eq(ids[0]))
        .exec(&app.db)
        .await
        .unwrap();
    opt_out(&app, "oMpL000001").await;
    segment(&app, &manager, "six", "joined_days < 1").await;

    create_and_send(&app, &manager, &template_push("first", "six")).await;
    drain(&app, "w").await;
    let first = counts(&app, &manager, "first").await;
    assert_eq!(first["sent"], 3, "{first}");
    assert_eq!(first["skipped"]["not_following"], 1, "{first}");
    assert_eq!(first["skipped"]["opted_out"], 1, "{first}");
    // The account's three template messages a day are spent: the fourth waits for tomorrow.
    assert_eq!(first["held_by"]["template_daily_cap"], 1, "{first}");

    // The same day, a subscribe push: everyone who got a message today is at their daily cap.
    let (_, token) = app.customer("oMpL000005").await;
    report_consent(&app, &token, "TMPL_REMIND").await;
    create_and_send(&app, &manager, &subscribe_push("second", "six")).await;
    drain(&app, "w").await;
    let second = counts(&app, &manager, "second").await;
    assert_eq!(second["skipped"]["frequency_daily"], 3, "{second}");
    assert_eq!(second["skipped"]["no_consent"], 1, "{second}");

    // Tomorrow: the held template message goes, within the new day's cap.
    app.clock.set(shanghai("2026-12-08T09:00:00+08:00"));
    push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    drain(&app, "w").await;
    let first = counts(&app, &manager, "first").await;
    assert_eq!(first["sent"], 4, "{first}");
    assert_eq!(app.wechat.calls(TEMPLATE_SEND).await, 4);
}

async fn report_consent(app: &TestApp, token: &str, template: &str) -> Value {
    let response = app
        .post_json(
            "/api/v1/me/subscriptions",
            Some(token),
            &json!({ "results": { template: "accept" } }),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn quiet_hours_refuse_a_send_hold_it_until_morning_or_drop_it() {
    let app = spawn_app_with(&[]).await;
    app.clock.set(shanghai("2026-12-07T23:00:00+08:00"));
    template_messages_succeed(&app).await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    app.followers("Q", 2).await;
    segment(&app, &manager, "two", "following = true").await;
    app.post_json(
        "/admin/v1/pushes",
        Some(&manager),
        &template_push("night", "two"),
    )
    .await;
    let refused = app
        .post_json("/admin/v1/pushes/night/send", Some(&manager), &json!({}))
        .await;
    assert_eq!(error_code(refused).await, "quiet_hours");
    let mut dropped = template_push("night-drop", "two");
    dropped["quiet_hours"] = json!("drop");
    app.post_json("/admin/v1/pushes", Some(&manager), &dropped)
        .await;
    for slug in ["night", "night-drop"] {
        let sent = app
            .post_json(
                &format!("/admin/v1/pushes/{slug}/send"),
                Some(&manager),
                &json!({ "override_quiet_hours": true }),
            )
            .await;
        assert_eq!(sent.status(), 200);
    }
    drain(&app, "w").await;
    assert_eq!(
        counts(&app, &manager, "night").await["held_by"]["quiet_hours"],
        2
    );
    assert_eq!(
        counts(&app, &manager, "night-drop").await["skipped"]["quiet_hours"],
        2
    );
    assert_eq!(app.wechat.calls(TEMPLATE_SEND).await, 0);
    let held = push_deliveries::Entity::find()
        .filter(push_deliveries::Column::Status.eq("held"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.not_before, Some(shanghai("2026-12-08T08:00:00+08:00")));
    app.clock.set(shanghai("2026-12-08T07:59:00+08:00"));
    push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    drain(&app, "w").await;
    assert_eq!(app.wechat.calls(TEMPLATE_SEND).await, 0, "not before 08:00");
    app.clock.set(shanghai("2026-12-08T08:00:00+08:00"));
    push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    drain(&app, "w").await;
    assert_eq!(counts(&app, &manager, "night").await["sent"], 2);
}

#[tokio::test]
async fn a_consent_is_spent_per_message_and_43101_zeroes_it() {
    let app = spawn_app_with(&[("APP__PUSH__PER_CUSTOMER_DAILY", "10")]).await;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    app.wechat.issues_token("PUSH_TOKEN").await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    let (_, alice) = app.customer("oAliceConsent1").await;
    let (bob_id, bob) = app.customer("oBobConsent001").await;
    report_consent(&app, &alice, "TMPL_REMIND").await;
    for _ in 0..2 {
        report_consent(&app, &bob, "TMPL_REMIND").await;
    }
    // WeChat knows better for Bob: he has no consent left at its end.
    Mock::given(method("POST"))
        .and(path(SUBSCRIBE_SEND))
        .and(wiremock::matchers::body_partial_json(
            json!({ "touser": "oBobConsent001" }),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "errcode": 43101, "errmsg": "user refuse to accept the msg" }),
            ),
        )
        .with_priority(1)
        .mount(&app.wechat.server)
        .await;
    app.wechat
        .answers(
            "POST",
            SUBSCRIBE_SEND,
            json!({ "errcode": 0, "errmsg": "ok" }),
        )
        .await;
    segment(&app, &manager, "both", "phone_bound = false").await;
    create_and_send(&app, &manager, &subscribe_push("one", "both")).await;
    drain(&app, "w").await;
    let one = counts(&app, &manager, "one").await;
    assert_eq!(one["sent"], 1, "{one}");
    assert_eq!(one["failed"]["43101"], 1, "{one}");
    let bob_consent = subscribe_consents::Entity::find()
        .filter(subscribe_consents::Column::UserId.eq(bob_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob_consent.remaining, 0, "43101 zeroes what we counted");
    let settings: Value = app
        .get("/api/v1/me/messages", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        settings["consents"][0]["remaining"], 0,
        "Alice's one consent is spent"
    );
    // A second push finds nobody with a consent left.
    create_and_send(&app, &manager, &subscribe_push("two", "both")).await;
    drain(&app, "w").await;
    assert_eq!(
        counts(&app, &manager, "two").await["skipped"]["no_consent"],
        2
    );
    assert_eq!(app.wechat.calls(SUBSCRIBE_SEND).await, 2);
    let bad = app
        .post_json(
            "/api/v1/me/subscriptions",
            Some(&alice),
            &json!({ "results": { "TMPL_REMIND": "maybe" } }),
        )
        .await;
    assert_eq!(error_code(bad).await, "invalid_consent");
}

/// WeChat answers the first call to `route` with `first`, every later one with `then`.
async fn first_then(app: &TestApp, route: &str, first: ResponseTemplate, then: Value) {
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.wechat.server)
        .await;
    app.wechat.answers("POST", route, then).await;
}

/// WeChat's 45011: calls come too fast.
fn too_fast() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "errcode": 45011, "errmsg": "api minute-quota reach limit" }))
}

#[tokio::test]
async fn wechat_saying_too_fast_rests_the_sender_and_loses_nothing() {
    let app = spawn_app_with(&[("APP__PUSH__RATE_BACKOFF_SECS", "1")]).await;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    app.wechat.issues_token("PUSH_TOKEN").await;
    first_then(
        &app,
        TEMPLATE_SEND,
        too_fast(),
        json!({ "errcode": 0, "errmsg": "ok", "msgid": 7 }),
    )
    .await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    app.followers("R", 30).await;
    segment(&app, &manager, "thirty", "following = true").await;
    create_and_send(&app, &manager, &template_push("burst", "thirty")).await;
    let pass = drain(&app, "w").await;
    assert_eq!(pass.sent, 0);
    assert_eq!(
        pass.held, 30,
        "the first refused, the rest rest without calling"
    );
    assert_eq!(app.wechat.calls(TEMPLATE_SEND).await, 1);
    let held = counts(&app, &manager, "burst").await;
    assert_eq!(held["held_by"]["wechat_rate"], 30, "{held}");
    // After the rest, every message goes; none was lost, none went twice.
    tokio::time::sleep(StdDuration::from_millis(1_100)).await;
    app.clock.advance(chrono::Duration::seconds(2));
    push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    drain(&app, "w").await;
    let done = counts(&app, &manager, "burst").await;
    assert_eq!(done["sent"], 30, "{done}");
    let requests = app.wechat.requests(TEMPLATE_SEND).await;
    assert_eq!(requests.len(), 31);
    let distinct: HashSet<String> = tousers(&requests[1..]).into_iter().collect();
    assert_eq!(distinct.len(), 30);
}

#[tokio::test]
async fn a_cancelled_push_sends_nothing_more() {
    let (app, manager) = template_app(&[]).await;
    app.followers("C", 40).await;
    segment(&app, &manager, "forty", "following = true").await;
    create_and_send(&app, &manager, &template_push("oops", "forty")).await;
    let first = push::work(app.delivering(), "w", 1, None).await.unwrap();
    assert_eq!(first.sent, 20, "one message of twenty");
    let cancelled = app
        .post_json("/admin/v1/pushes/oops/cancel", Some(&manager), &json!({}))
        .await;
    assert_eq!(cancelled.status(), 200);
    drain(&app, "w").await;
    let counts = counts(&app, &manager, "oops").await;
    assert_eq!(counts["sent"], 20);
    assert_eq!(counts["skipped"]["cancelled"], 20);
    assert_eq!(app.wechat.calls(TEMPLATE_SEND).await, 20);
    let again = app
        .post_json("/admin/v1/pushes/oops/send", Some(&manager), &json!({}))
        .await;
    assert_eq!(error_code(again).await, "push_not_editable");
}

/// Answers each template message with the next msgid, as WeChat does.
struct NextMsgId(std::sync::atomic::AtomicI64);

impl wiremock::Respond for NextMsgId {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let msgid = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ResponseTemplate::new(200)
            .set_body_json(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }))
    }
}

fn job_finish(openid: &str, msg_id: &str, status: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{gh}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>\
         <Status><![CDATA[{status}]]></Status></xml>",
        gh = crate::wechat_sim::GH,
        now = crate::wechat_sim::now(),
    )
}

#[tokio::test]
async fn wechats_job_reports_and_consent_events_come_back_through_the_callback() {
    let sim = crate::wechat_sim::WeChatSim::start("plain", false).await;
    let app = &sim.app;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    app.wechat.issues_token("PUSH_TOKEN").await;
    Mock::given(method("POST"))
        .and(path(TEMPLATE_SEND))
        .respond_with(NextMsgId(std::sync::atomic::AtomicI64::new(500)))
        .mount(&app.wechat.server)
        .await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    app.followers("J", 3).await;
    segment(app, &manager, "three", "following = true").await;
    create_and_send(app, &manager, &template_push("reported", "three")).await;
    drain(app, "w").await;
    let sent = push_deliveries::Entity::find().all(&app.db).await.unwrap();
    let msg_ids: Vec<String> = sent.iter().filter_map(|d| d.msg_id.clone()).collect();
    assert_eq!(msg_ids.len(), 3);
    for (n, (msg_id, status)) in msg_ids
        .iter()
        .zip(["success", "success", "failed:user block"])
        .enumerate()
    {
        let answer = sim
            .send_plain(&job_finish(&format!("oOaJ{n:06}"), msg_id, status))
            .await;
        assert_eq!(answer.status(), 200);
    }
    let counts = counts(app, &manager, "reported").await;
    assert_eq!(counts["reported"]["success"], 2, "{counts}");
    assert_eq!(counts["reported"]["failed:user block"], 1, "{counts}");

    // A consent given through the official account's popup counts like one from the mini-program.
    let popup = format!(
        "<xml><ToUserName><![CDATA[{gh}]]></ToUserName><FromUserName><![CDATA[oOaJ000000]]></FromUserName>\
         <CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent><List>\
         <TemplateId><![CDATA[TMPL_OA]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>\
         <PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent></xml>",
        gh = crate::wechat_sim::GH,
        now = crate::wechat_sim::now(),
    );
    assert_eq!(sim.send_plain(&popup).await.status(), 200);
    let consent = subscribe_consents::Entity::find()
        .filter(subscribe_consents::Column::TemplateId.eq("TMPL_OA"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the popup's consent is recorded");
    assert_eq!(consent.remaining, 1);
}

/// WeChat makes the push's tag (`tag_id`) and puts customers in it and takes them out.
async fn tags_answer(app: &TestApp, tag_id: i64) {
    app.wechat
        .answers(
            "POST",
            "/cgi-bin/tags/create",
            json!({ "tag": { "id": tag_id, "name": "wxc-push-1" } }),
        )
        .await;
    for route in [
        "/cgi-bin/tags/members/batchtagging",
        "/cgi-bin/tags/members/batchuntagging",
    ] {
        app.wechat
            .answers("POST", route, json!({ "errcode": 0, "errmsg": "ok" }))
            .await;
    }
}

#[tokio::test]
async fn a_mass_send_tags_those_under_their_four_a_month_and_sends_once() {
    let app = spawn_app_with(&[("APP__PUSH__MASS_CALLS_PER_MINUTE", "1")]).await;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    app.wechat.issues_token("PUSH_TOKEN").await;
    tags_answer(&app, 134).await;
    app.wechat
        .answers("POST", "/cgi-bin/message/mass/sendall", json!({ "errcode": 0, "errmsg": "send job submission success", "msg_id": 3_147_483_652_i64 }))
        .await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    let ids = app.followers("M", 60).await;
    // One follower has had this month's four mass messages already.
    let used = wxcampaign::entities::push_counters::ActiveModel {
        subject: Set(format!("u{}:mass", ids[0])),
        window: Set("2026-12".into()),
        used: Set(4),
        ..Default::default()
    };
    wxcampaign::entities::push_counters::Entity::insert(used)
        .exec_without_returning(&app.db)
        .await
        .unwrap();
    segment(&app, &manager, "sixty", "following = true").await;
    let mass = |slug: &str| {
        json!({ "slug": slug, "name": "年终回顾", "channel": "mass", "segment": "sixty",
                "variants": [{ "name": "A", "media_id": "MEDIA_YEAR_END" }] })
    };
    create_and_send(&app, &manager, &mass("year-end-article")).await;
    drain(&app, "w").await;
    let counts_now = counts(&app, &manager, "year-end-article").await;
    assert_eq!(counts_now["sent"], 59, "{counts_now}");
    assert_eq!(counts_now["skipped"]["mass_monthly"], 1, "{counts_now}");
    let tagging = app
        .wechat
        .requests("/cgi-bin/tags/members/batchtagging")
        .await;
    assert_eq!(tagging.len(), 2, "59 openids, 50 a call");
    let tagged: usize = tagging
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["openid_list"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(tagged, 59);
    let sends = app.wechat.requests("/cgi-bin/message/mass/sendall").await;
    assert_eq!(sends.len(), 1, "one call for the whole push");
    let send: Value = serde_json::from_slice(&sends[0].body).unwrap();
    assert_eq!(send["filter"]["tag_id"], 134);
    assert_eq!(send["mpnews"]["media_id"], "MEDIA_YEAR_END");
    // A second mass push in the same minute waits for WeChat's per-minute limit on mass calls.
    create_and_send(&app, &manager, &mass("another-article")).await;
    drain(&app, "w").await;
    let waiting = counts(&app, &manager, "another-article").await;
    assert_eq!(waiting["held_by"]["mass_rate"], 60, "{waiting}");
    assert_eq!(app.wechat.calls("/cgi-bin/message/mass/sendall").await, 1);
}

/// The saved push `slug`, as its table has it.
async fn push_row(app: &TestApp, slug: &str) -> wxcampaign::entities::pushes::Model {
    use wxcampaign::entities::pushes;
    pushes::Entity::find()
        .filter(pushes::Column::Slug.eq(slug))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_fan_out_cut_off_part_way_is_resumed_from_its_place_and_the_push_finishes_only_after() {
    let (app, manager) = template_app(&[]).await;
    app.followers("F", 2_500).await;
    segment(&app, &manager, "everyone", "following = true").await;
    create(&app, &manager, &template_push("big", "everyone")).await;
    // The instance that starts it dies after the first page of a thousand customers.
    let now = app.clock.now();
    let started = push::fanout::begin(
        &app.db,
        &app.settings,
        None,
        push_row(&app, "big").await,
        now,
    )
    .await
    .unwrap()
    .unwrap();
    push::fanout::fan_out(
        &app.db,
        app.store.as_ref(),
        &app.settings,
        &started,
        now,
        Some(1),
    )
    .await
    .unwrap();
    assert_eq!(drain(&app, "w").await.sent, 1_000);
    // Nothing is queued or sending, yet the push is not finished: its fan-out never reached the end.
    app.clock.advance(chrono::Duration::minutes(1));
    let early = push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    assert_eq!((early.finished, early.resumed), (0, 0), "{early:?}");
    assert_eq!(push_row(&app, "big").await.status, "sending");
    // Its heartbeat gone stale, another instance's release resumes it from where it stopped, once.
    app.clock.advance(chrono::Duration::minutes(2));
    let other = app.second_instance().await;
    let (first, second) = futures::join!(
        push::release(app.delivering(), &app.settings),
        push::release(other.delivering(), &other.settings)
    );
    assert_eq!(first.unwrap().resumed + second.unwrap().resumed, 1);
    drain(&app, "w").await;
    let done = counts(&app, &manager, "big").await;
    assert_eq!(
        (done["total"].clone(), done["sent"].clone()),
        (json!(2_500), json!(2_500)),
        "{done}"
    );
    let requests = app.wechat.requests(TEMPLATE_SEND).await;
    assert_eq!(requests.len(), 2_500, "one call a customer, none twice");
    assert_eq!(
        tousers(&requests).into_iter().collect::<HashSet<_>>().len(),
        2_500
    );
    let finished = push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    assert_eq!(finished.finished, 1);
    assert_eq!(push_row(&app, "big").await.status, "sent");
}

/// How many of the customer's pushes today the database counts.
async fn used_today(app: &TestApp, user_id: i64) -> i32 {
    use wxcampaign::entities::push_counters;
    push_counters::Entity::find()
        .filter(push_counters::Column::Subject.eq(format!("u{user_id}:day")))
        .one(&app.db)
        .await
        .unwrap()
        .map(|row| row.used)
        .unwrap_or(0)
}

/// An app at 10:00 whose WeChat answers subscribe messages, the first only after `delay`.
async fn subscribe_app_first_answered_after(delay: StdDuration) -> TestApp {
    let app = spawn_app_with(&[]).await;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    app.wechat.issues_token("PUSH_TOKEN").await;
    let ok = json!({ "errcode": 0, "errmsg": "ok" });
    let late = ResponseTemplate::new(200)
        .set_body_json(&ok)
        .set_delay(delay);
    first_then(&app, SUBSCRIBE_SEND, late, ok).await;
    app
}

/// Six minutes on (claims go stale after five), the release job's pass.
async fn release_after_claims_go_stale(app: &TestApp) -> push::Released {
    app.clock.advance(chrono::Duration::minutes(6));
    push::release(app.delivering(), &app.settings)
        .await
        .unwrap()
}

/// A worker (`consumer`) working the queue on its own task, returned once WeChat has its first call to `route`.
async fn worker_in_its_first_call(
    app: &TestApp,
    consumer: &'static str,
    route: &str,
) -> tokio::task::JoinHandle<Result<Pass, push::PushError>> {
    let state = app.state.clone();
    let now = app.clock.now();
    let worker = tokio::spawn(async move {
        let cx = push::Delivering {
            db: &state.db,
            store: state.store.as_ref(),
            wechat: &state.wechat,
            settings: &state.settings.push,
            now,
        };
        push::work(cx, consumer, 10, None).await
    });
    while app.wechat.calls(route).await == 0 {
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    worker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_cut_off_mid_call_leaves_the_untried_to_be_sent_once_and_spends_nothing_twice() {
    // WeChat hangs on the first subscribe message: the worker is cut off during that call.
    let app = subscribe_app_first_answered_after(StdDuration::from_secs(60)).await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    let mut customers = Vec::new();
    for n in 0..3 {
        let (id, token) = app.customer(&format!("oMpCut{n:04}")).await;
        report_consent(&app, &token, "TMPL_REMIND").await;
        report_consent(&app, &token, "TMPL_REMIND").await;
        customers.push(id);
    }
    segment(&app, &manager, "three", "joined_days < 1").await;
    create_and_send(&app, &manager, &subscribe_push("cut", "three")).await;
    let worker = worker_in_its_first_call(&app, "doomed", SUBSCRIBE_SEND).await;
    worker.abort();
    assert!(worker.await.unwrap_err().is_cancelled());
    let cut = counts(&app, &manager, "cut").await;
    assert_eq!(cut["sending"], 3, "{cut}");
    // Five minutes on: the one cut off in its call may have reached its customer, so it is not sent again; the
    // two never called are queued again, and their second try spends no second daily count or consent.
    let released = release_after_claims_go_stale(&app).await;
    assert_eq!(
        (released.requeued, released.interrupted),
        (2, 1),
        "{released:?}"
    );
    drain(&app, "w").await;
    let done = counts(&app, &manager, "cut").await;
    assert_eq!(done["sent"], 2, "{done}");
    assert_eq!(done["failed"]["0"], 1, "{done}");
    let requests = app.wechat.requests(SUBSCRIBE_SEND).await;
    assert_eq!(requests.len(), 3, "each customer called once");
    assert_eq!(
        tousers(&requests).into_iter().collect::<HashSet<_>>().len(),
        3
    );
    for id in &customers {
        assert_eq!(
            used_today(&app, *id).await,
            1,
            "customer {id}: counted once"
        );
        let left = subscribe_consents::Entity::find()
            .filter(subscribe_consents::Column::UserId.eq(*id))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(left.remaining, 1, "customer {id}: one consent spent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_of_two_pushes_to_the_same_customers_at_once_count_each_message_once() {
    let (app, manager) = template_app(&[
        ("APP__PUSH__PER_CUSTOMER_DAILY", "10"),
        ("APP__PUSH__PER_CUSTOMER_WEEKLY", "50"),
    ])
    .await;
    app.followers("D", 600).await;
    segment(&app, &manager, "everyone", "following = true").await;
    // Six workers at once, each taking either push's batches: they meet on every customer's counters and on
    // the account's template counter (which on PostgreSQL they must take in one order, or deadlock).
    create_and_send(&app, &manager, &template_push("notice-one", "everyone")).await;
    create_and_send(&app, &manager, &template_push("notice-two", "everyone")).await;
    let workers = (0..6).map(|n| {
        let app = &app;
        async move { drain(app, &format!("w{n}")).await }
    });
    let sent: u64 = futures::future::join_all(workers)
        .await
        .iter()
        .map(|pass| pass.sent)
        .sum();
    assert_eq!(sent, 1_200);
    assert_eq!(app.wechat.calls(TEMPLATE_SEND).await, 1_200);
    let ids: Vec<i64> = users::Entity::find()
        .filter(users::Column::MpOpenid.starts_with("oMpD"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|user| user.id)
        .collect();
    for id in &ids {
        assert_eq!(used_today(&app, *id).await, 2, "customer {id}");
    }
}

#[tokio::test]
async fn a_segment_a_push_still_reads_is_not_removed() {
    let app = spawn_app_with(&[]).await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    app.followers("S", 2).await;
    segment(&app, &manager, "in-use", "following = true").await;
    create(&app, &manager, &template_push("draft-one", "in-use")).await;
    let remove = || async {
        app.api
            .delete(app.url("/admin/v1/segments/in-use"))
            .bearer_auth(&manager)
            .send()
            .await
            .unwrap()
    };
    let refused = remove().await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "segment_in_use");
    assert!(
        body["message"].as_str().unwrap().contains("push draft-one"),
        "{body}"
    );
    let still = app.get("/admin/v1/segments/in-use", Some(&manager)).await;
    assert_eq!(still.status(), 200, "nothing removed");
    // A cancelled push reads it no more.
    let cancelled = app
        .post_json(
            "/admin/v1/pushes/draft-one/cancel",
            Some(&manager),
            &json!({}),
        )
        .await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(remove().await.status(), 204);
}

/// The customer `openid` asks for no more campaign messages (the messages page).
async fn opt_out(app: &TestApp, openid: &str) {
    let (_, token) = app.customer(openid).await;
    let opted = app
        .api
        .put(app.url("/api/v1/me/messages"))
        .bearer_auth(&token)
        .json(&json!({ "opted_out": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(opted.status(), 200);
}

/// A minute on, past a one-second rest (the store's and the clock's): release, then the workers.
async fn after_the_rest(app: &TestApp) {
    tokio::time::sleep(StdDuration::from_millis(1_100)).await;
    app.clock.advance(chrono::Duration::seconds(61));
    push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    drain(app, "w").await;
}

fn openids_in(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .flat_map(|request| {
            serde_json::from_slice::<Value>(&request.body).unwrap()["openid_list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|openid| openid.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

const MASS_SEND: &str = "/cgi-bin/message/mass/sendall";

/// An app whose WeChat makes tags and answers the first mass send with `first`, the later ones with `then`
/// (rests of one second).
async fn mass_app(tag_id: i64, first: ResponseTemplate, then: Value) -> TestApp {
    let app = spawn_app_with(&[("APP__PUSH__RATE_BACKOFF_SECS", "1")]).await;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    app.wechat.issues_token("PUSH_TOKEN").await;
    tags_answer(&app, tag_id).await;
    first_then(&app, MASS_SEND, first, then).await;
    app
}

/// A mass push of the year-end article to `segment`.
fn mass_push(slug: &str, segment: &str) -> Value {
    json!({ "slug": slug, "name": "年终回顾", "channel": "mass", "segment": segment,
            "variants": [{ "name": "A", "media_id": "MEDIA_YEAR_END" }] })
}

#[tokio::test]
async fn a_mass_retry_takes_everyone_an_earlier_batch_tagged_out_of_the_tag_first() {
    let app = mass_app(
        135,
        too_fast(),
        json!({ "errcode": 0, "errmsg": "ok", "msg_id": 1_000_042 }),
    )
    .await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    app.followers("N", 20).await;
    segment(&app, &manager, "twenty", "following = true").await;
    create_and_send(&app, &manager, &mass_push("retry-article", "twenty")).await;
    drain(&app, "w").await;
    let refused = counts(&app, &manager, "retry-article").await;
    assert_eq!(refused["held_by"]["wechat_rate"], 20, "{refused}");
    // Before the retry, one of them asks for no more campaign messages: still in the tag from the first try.
    opt_out(&app, "oMpN000003").await;
    after_the_rest(&app).await;
    let done = counts(&app, &manager, "retry-article").await;
    assert_eq!(done["sent"], 19, "{done}");
    assert_eq!(done["skipped"]["opted_out"], 1, "{done}");
    let untagged = openids_in(
        &app.wechat
            .requests("/cgi-bin/tags/members/batchuntagging")
            .await,
    );
    assert_eq!(untagged.len(), 20, "everyone the refused try tagged");
    assert!(untagged.contains(&"oOaN000003".to_owned()));
    let tagged = openids_in(
        &app.wechat
            .requests("/cgi-bin/tags/members/batchtagging")
            .await,
    );
    assert_eq!(tagged.len(), 20 + 19);
    assert_eq!(app.wechat.calls(MASS_SEND).await, 2);
    // Each reached customer's four-a-month is spent once, though two tries were made.
    let spent = wxcampaign::entities::push_counters::Entity::find()
        .filter(wxcampaign::entities::push_counters::Column::Subject.ends_with(":mass"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(spent.iter().map(|row| row.used).sum::<i32>(), 19);
}

#[tokio::test]
async fn customer_service_messages_go_only_inside_wechats_interaction_windows() {
    let sim = crate::wechat_sim::WeChatSim::start_with(
        "plain",
        false,
        &[
            ("APP__PUSH__PER_CUSTOMER_DAILY", "10"),
            ("APP__PUSH__PER_CUSTOMER_WEEKLY", "50"),
        ],
    )
    .await;
    let app = &sim.app;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    app.wechat.issues_token("PUSH_TOKEN").await;
    app.wechat
        .answers(
            "POST",
            "/cgi-bin/message/custom/send",
            json!({ "errcode": 0, "errmsg": "ok" }),
        )
        .await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    app.followers("C", 3).await;
    // The first wrote to the account 47 hours ago; the second clicked its menu 30 seconds ago; the third did
    // neither.
    let ago = |by: chrono::Duration| (app.clock.now() - by).timestamp();
    let wrote = format!(
        "<xml><ToUserName><![CDATA[{gh}]]></ToUserName><FromUserName><![CDATA[oOaC000000]]></FromUserName>\
         <CreateTime>{at}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[房贷利率多少]]></Content>\
         <MsgId>7001</MsgId></xml>",
        gh = crate::wechat_sim::GH,
        at = ago(chrono::Duration::hours(47)),
    );
    let clicked = format!(
        "<xml><ToUserName><![CDATA[{gh}]]></ToUserName><FromUserName><![CDATA[oOaC000001]]></FromUserName>\
         <CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>\
         <EventKey><![CDATA[MENU_Q4]]></EventKey></xml>",
        gh = crate::wechat_sim::GH,
        at = ago(chrono::Duration::seconds(30)),
    );
    for xml in [wrote, clicked] {
        assert_eq!(sim.send_plain(&xml).await.status(), 200);
    }
    segment(app, &manager, "three", "following = true").await;
    let reply = |slug: &str| {
        json!({ "slug": slug, "name": "客服回访", "channel": "customer_service", "segment": "three",
                "variants": [{ "name": "A", "text": "您好，年终问答已开始，点击菜单参与" }] })
    };
    // Three messages in the minute after a click; any number in the 48 hours after the customer's message.
    let mut sent = Vec::new();
    for n in 0..4 {
        let slug = format!("reply-{n}");
        create_and_send(app, &manager, &reply(&slug)).await;
        drain(app, "w").await;
        let counts = counts(app, &manager, &slug).await;
        sent.push((
            counts["sent"].as_u64().unwrap(),
            counts["skipped"]["outside_window"].as_u64().unwrap_or(0),
        ));
    }
    assert_eq!(sent, vec![(2, 1), (2, 1), (2, 1), (1, 2)]);
    let requests = app.wechat.requests("/cgi-bin/message/custom/send").await;
    let reached: Vec<String> = tousers(&requests);
    assert_eq!(reached.iter().filter(|o| *o == "oOaC000000").count(), 4);
    assert_eq!(reached.iter().filter(|o| *o == "oOaC000001").count(), 3);
    assert!(!reached.contains(&"oOaC000002".to_owned()));
    // Past the 48 hours, nothing more.
    app.clock.advance(chrono::Duration::hours(2));
    create_and_send(app, &manager, &reply("reply-late")).await;
    drain(app, "w").await;
    let late = counts(app, &manager, "reply-late").await;
    assert_eq!(late["skipped"]["outside_window"], 3, "{late}");
}

#[tokio::test]
async fn wechats_daily_quota_holds_the_sends_until_the_next_morning_and_loses_none() {
    let app = spawn_app_with(&[]).await;
    app.clock.set(shanghai("2026-12-07T10:00:00+08:00"));
    app.wechat.issues_token("PUSH_TOKEN").await;
    let quota = ResponseTemplate::new(200)
        .set_body_json(json!({ "errcode": 45009, "errmsg": "reach max api daily quota limit" }));
    first_then(
        &app,
        TEMPLATE_SEND,
        quota,
        json!({ "errcode": 0, "errmsg": "ok", "msgid": 9 }),
    )
    .await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    let ids = app.followers("Q", 25).await;
    segment(&app, &manager, "twenty-five", "following = true").await;
    create_and_send(&app, &manager, &template_push("quota", "twenty-five")).await;
    let pass = drain(&app, "w").await;
    assert_eq!(
        (pass.sent, pass.held),
        (0, 25),
        "one refused, the rest not tried"
    );
    let held = counts(&app, &manager, "quota").await;
    assert_eq!(held["held_by"]["wechat_quota"], 25, "{held}");
    assert_eq!(
        used_today(&app, ids[0]).await,
        0,
        "a refused send spends nothing"
    );
    // WeChat's quota comes back at midnight; the quiet hours keep them until 08:00.
    app.clock.set(shanghai("2026-12-08T07:59:00+08:00"));
    let early = push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    assert_eq!(early.due, 0);
    app.clock.set(shanghai("2026-12-08T08:01:00+08:00"));
    push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    drain(&app, "w").await;
    let done = counts(&app, &manager, "quota").await;
    assert_eq!(done["sent"], 25, "{done}");
    let requests = app.wechat.requests(TEMPLATE_SEND).await;
    assert_eq!(requests.len(), 26);
    assert_eq!(
        tousers(&requests[1..])
            .into_iter()
            .collect::<HashSet<_>>()
            .len(),
        25
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_too_slow_to_keep_its_claim_sends_nothing_another_worker_took_back() {
    // WeChat takes five seconds over the first subscribe message.
    let app = subscribe_app_first_answered_after(StdDuration::from_secs(5)).await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    for n in 0..2 {
        let (_, token) = app.customer(&format!("oMpSlow{n:04}")).await;
        report_consent(&app, &token, "TMPL_REMIND").await;
    }
    segment(&app, &manager, "two", "joined_days < 1").await;
    create_and_send(&app, &manager, &subscribe_push("slow", "two")).await;
    let slow_worker = worker_in_its_first_call(&app, "slow", SUBSCRIBE_SEND).await;
    // While it waits, release takes back what it has not called yet, and another worker sends that.
    let released = release_after_claims_go_stale(&app).await;
    assert_eq!(
        (released.requeued, released.interrupted),
        (1, 1),
        "{released:?}"
    );
    assert_eq!(drain(&app, "quick").await.sent, 1);
    // The slow worker, answered at last, does not send what it no longer holds.
    slow_worker.await.unwrap().unwrap();
    let requests = app.wechat.requests(SUBSCRIBE_SEND).await;
    assert_eq!(requests.len(), 2, "each customer called once");
    assert_eq!(
        tousers(&requests).into_iter().collect::<HashSet<_>>().len(),
        2
    );
    let done = counts(&app, &manager, "slow").await;
    assert_eq!(done["sent"], 1, "{done}");
    assert_eq!(
        done["failed"]["0"], 1,
        "the one cut off in its call stays interrupted: {done}"
    );
}

/// WeChat's next template call gets no answer (a 502 from a proxy in between).
async fn next_template_call_unanswered(app: &TestApp) {
    Mock::given(method("POST"))
        .and(path(TEMPLATE_SEND))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.wechat.server)
        .await;
}

#[tokio::test]
async fn a_template_message_without_an_answer_is_retried_only_while_wechat_drops_its_repeat() {
    let (app, manager) = template_app(&[]).await;
    app.followers("U", 1).await;
    segment(&app, &manager, "one", "following = true").await;
    // Within WeChat's ten minutes: sent again under the same client_msg_id, which WeChat would drop if the
    // first had gone.
    next_template_call_unanswered(&app).await;
    create_and_send(&app, &manager, &template_push("soon", "one")).await;
    assert_eq!(drain(&app, "w").await.held, 1);
    app.clock.advance(chrono::Duration::minutes(1));
    push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    assert_eq!(drain(&app, "w").await.sent, 1);
    let requests = app.wechat.requests(TEMPLATE_SEND).await;
    let ids: Vec<Value> = requests
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["client_msg_id"].clone())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1]);
    // Past them (held meanwhile), it may have reached the customer already: not risked again.
    next_template_call_unanswered(&app).await;
    create_and_send(&app, &manager, &template_push("late", "one")).await;
    assert_eq!(drain(&app, "w").await.held, 1);
    app.clock.advance(chrono::Duration::minutes(11));
    push::release(app.delivering(), &app.settings)
        .await
        .unwrap();
    drain(&app, "w").await;
    let late = counts(&app, &manager, "late").await;
    assert_eq!(late["skipped"]["no_answer"], 1, "{late}");
    assert_eq!(app.wechat.calls(TEMPLATE_SEND).await, 3);
}

#[tokio::test]
async fn a_mass_batch_without_an_answer_is_retried_alone_under_its_own_client_id() {
    // The first call's answer is lost; the retry learns WeChat had it (45065).
    let app = mass_app(
        136,
        ResponseTemplate::new(502),
        json!({ "errcode": 45065, "errmsg": "clientmsgid exist" }),
    )
    .await;
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    app.followers("P", 5).await;
    segment(&app, &manager, "five", "following = true").await;
    create_and_send(&app, &manager, &mass_push("lost-answer", "five")).await;
    drain(&app, "w").await;
    let waiting = counts(&app, &manager, "lost-answer").await;
    assert_eq!(waiting["held"], 5, "{waiting}");
    // The batch's first customer opts out meanwhile: the retry still goes under the batch's first id.
    opt_out(&app, "oMpP000000").await;
    after_the_rest(&app).await;
    let sends = app.wechat.requests(MASS_SEND).await;
    assert_eq!(sends.len(), 2);
    let client_id =
        |n: usize| serde_json::from_slice::<Value>(&sends[n].body).unwrap()["clientmsgid"].clone();
    assert_eq!(client_id(0), client_id(1), "one send at WeChat's end");
    let done = counts(&app, &manager, "lost-answer").await;
    assert_eq!(done["sent"], 4, "{done}");
    assert_eq!(done["skipped"]["opted_out"], 1, "{done}");
    // Their four-a-month spent once, though two calls were made.
    let spent = wxcampaign::entities::push_counters::Entity::find()
        .filter(wxcampaign::entities::push_counters::Column::Subject.ends_with(":mass"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(spent.iter().map(|row| row.used).sum::<i32>(), 5);
}
