//! Tasks, check-ins and plans: every task kind completes from its real source (the quiz through the quiz API,
//! the team through the teams API, the coupon through the counter ...), pays once however often or however
//! concurrently its source repeats, and refuses bad input with a stable code and nothing granted.

use std::collections::HashMap;

use chrono::Duration;
use futures::future::join_all;
use serde_json::{json, Value};
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;

use crate::helpers::{config_dir, error_code, spawn_app, spawn_app_with, TestApp};
use crate::quiz_play::{live_quiz_beside, play, quiz_config, CAMPAIGN};

const MINI_APP_ID: &str = "wx1111111111111111";

/// An app whose customers may make more requests a minute than a person would: one customer here does a
/// quarter's or a year's tasks in a few seconds of real time.
async fn spawn_tireless_app() -> TestApp {
    spawn_app_with(&[("APP__RATE_LIMIT__CUSTOMER_PER_USER__LIMIT", "100000")]).await
}

/// A task activity of `tasks`, paying `reward` when all are done.
fn task_activity(slug: &str, tasks: Value, reward: Value) -> Value {
    json!({ "slug": slug, "kind": "task", "name": "每月任务", "config": { "tasks": tasks, "reward": reward } })
}

/// Pays what the outbox holds, as the `tasks.settle` job does.
async fn settle(app: &TestApp) -> wxcampaign::tasks::service::Settled {
    wxcampaign::tasks::service::settle_pending(app.state.context())
        .await
        .unwrap()
}

async fn board(app: &TestApp, token: &str, campaign: &str) -> Value {
    let response = app
        .get(&format!("/api/v1/campaigns/{campaign}/tasks"), Some(token))
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn activity_of<'a>(board: &'a Value, slug: &str) -> &'a Value {
    board["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["slug"] == json!(slug))
        .unwrap_or_else(|| panic!("no activity {slug} in {board}"))
}

fn task_of<'a>(board: &'a Value, activity: &str, task: &str) -> &'a Value {
    activity_of(board, activity)["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == json!(task))
        .unwrap_or_else(|| panic!("no task {task}"))
}

async fn check_in(app: &TestApp, token: &str, campaign: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/campaigns/{campaign}/check-ins"),
        Some(token),
        &json!({}),
    )
    .await
}

async fn content(
    app: &TestApp,
    token: &str,
    campaign: &str,
    id: &str,
    step: &str,
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/campaigns/{campaign}/contents/{id}/{step}"),
        Some(token),
        &json!({}),
    )
    .await
}

async fn submit_form(
    app: &TestApp,
    token: &str,
    path: (&str, &str, &str),
    answers: Value,
) -> reqwest::Response {
    let (campaign, activity, task) = path;
    app.post_json(
        &format!("/api/v1/campaigns/{campaign}/tasks/{activity}/{task}/form"),
        Some(token),
        &json!({ "answers": answers }),
    )
    .await
}

async fn upload(
    app: &TestApp,
    token: &str,
    path: (&str, &str, &str),
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let (campaign, activity, task) = path;
    app.api
        .post(app.url(&format!(
            "/api/v1/campaigns/{campaign}/tasks/{activity}/{task}/upload"
        )))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn decide(app: &TestApp, staff: &str, id: i64, decision: Value) -> reqwest::Response {
    app.post_json(
        &format!("/admin/v1/task-uploads/{id}/decision"),
        Some(staff),
        &decision,
    )
    .await
}

/// WeChat passing everything the tasks send it: text and image checks, the phone number.
async fn wechat_passes_everything(app: &TestApp) {
    app.wechat.issues_token("TASK_TOKEN").await;
    let pass =
        json!({ "errcode": 0, "errmsg": "ok", "result": { "suggest": "pass", "label": 100 } });
    app.wechat.answers("POST", "/wxa/msg_sec_check", pass).await;
    image_check_answers(app).await;
    let phone_info = json!({ "phoneNumber": "13812345678", "purePhoneNumber": "13812345678", "countryCode": "86",
                             "watermark": { "timestamp": 1700000000, "appid": MINI_APP_ID } });
    let phone = json!({ "errcode": 0, "errmsg": "ok", "phone_info": phone_info });
    app.wechat
        .answers("POST", "/wxa/business/getuserphonenumber", phone)
        .await;
}

async fn bind_phone(app: &TestApp, token: &str) {
    let bound = app
        .post_json(
            "/api/v1/me/phone",
            Some(token),
            &json!({ "code": "phoneCODE" }),
        )
        .await;
    assert_eq!(bound.status(), 200);
}

/// Makes a card of poster activity `poster` through the posters API.
async fn make_poster(app: &TestApp, token: &str, campaign: &str, poster: &str) {
    let made = app
        .api
        .post(app.url(&format!("/api/v1/campaigns/{campaign}/posters/{poster}")))
        .bearer_auth(token)
        .header("idempotency-key", format!("poster-{poster}"))
        .json(&json!({ "text": "新年新气象" }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 200, "{}", made.text().await.unwrap());
}

/// Makes a team of two-seat team activity `team` and has `friend` join it, through the teams API.
async fn complete_duo(app: &TestApp, token: &str, campaign: &str, team: &str, friend: &str) {
    let made = app
        .post_json(
            &format!("/api/v1/campaigns/{campaign}/teams/{team}"),
            Some(token),
            &json!({}),
        )
        .await;
    assert_eq!(made.status(), 201);
    let code = made.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let friend = app.customer_token(friend).await;
    let joined = app
        .api
        .post(app.url(&format!("/api/v1/teams/{code}/members")))
        .bearer_auth(&friend)
        .header("idempotency-key", format!("join-{team}"))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 200);
}

/// A PNG of `width` x `height`.
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

/// WeChat's image check passes every image.
async fn image_check_answers(app: &TestApp) {
    app.wechat.issues_token("TASK_TOKEN").await;
    app.wechat
        .answers(
            "POST",
            "/wxa/img_sec_check",
            json!({ "errcode": 0, "errmsg": "ok" }),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_ins_count_once_a_day_and_a_streak_completes_its_task_once() {
    let app = spawn_app().await;
    let tasks = json!([
        { "id": "streak", "title": "连续签到3天", "kind": "check_in", "days": 3, "consecutive": true, "reward": { "points": 30 } },
        { "id": "any-two", "title": "签到2天", "kind": "check_in", "days": 2 }
    ]);
    live_quiz_beside(
        &app,
        quiz_config(),
        &[task_activity("checkins", tasks, json!({ "points": 5 }))],
    )
    .await;
    let (_, token) = app.customer("oCheckIn0000001").await;
    let before = app.points_balance(&token).await;
    // Twenty check-ins at once: one day, one check-in.
    let answers = join_all((0..20).map(|_| check_in(&app, &token, CAMPAIGN))).await;
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for response in answers {
        *statuses.entry(response.status().as_u16()).or_default() += 1;
    }
    assert_eq!(statuses, HashMap::from([(200, 1), (409, 19)]));
    let again = check_in(&app, &token, CAMPAIGN).await;
    assert_eq!(error_code(again).await, "already_checked_in");
    assert_eq!(app.count_events("checked_in").await, 1);
    // A day missed breaks the streak; the non-consecutive task still counts both days.
    app.clock.advance(Duration::days(2));
    let second: Value = check_in(&app, &token, CAMPAIGN).await.json().await.unwrap();
    assert_eq!(
        (second["streak"].clone(), second["total_days"].clone()),
        (json!(1), json!(2))
    );
    let shown = board(&app, &token, CAMPAIGN).await;
    assert_eq!(task_of(&shown, "checkins", "streak")["progress"], json!(1));
    assert_eq!(task_of(&shown, "checkins", "any-two")["done"], json!(true));
    for _ in 0..2 {
        app.clock.advance(Duration::days(1));
        assert_eq!(check_in(&app, &token, CAMPAIGN).await.status(), 200);
    }
    let shown = board(&app, &token, CAMPAIGN).await;
    assert_eq!(shown["check_in"]["streak"], json!(3));
    assert_eq!(activity_of(&shown, "checkins")["done"], json!(true));
    assert_eq!(app.points_balance(&token).await, before + 30 + 5);
    // The job finds nothing left to pay.
    assert_eq!(settle(&app).await.payments, 0);
    assert_eq!(app.points_balance(&token).await, before + 30 + 5);
    // After the activity's window: refused, nothing recorded.
    app.clock.advance(Duration::days(10));
    let late = check_in(&app, &token, CAMPAIGN).await;
    assert_eq!(error_code(late).await, "activity_not_live");
    assert_eq!(app.count_events("checked_in").await, 4);
}

#[tokio::test]
async fn a_quiz_pass_a_poster_and_a_team_complete_their_tasks_through_their_own_apis() {
    let app = spawn_app().await;
    let tasks = json!([
        { "id": "pass-1", "title": "通过第1关", "kind": "quiz_pass", "level": 1, "reward": { "points": 7 } },
        { "id": "card", "title": "制作祝福卡", "kind": "poster_made", "activity": "card" },
        { "id": "duo", "title": "组队成功", "kind": "team_completed", "activity": "duo" }
    ]);
    let operator = live_quiz_beside(
        &app,
        quiz_config(),
        &[
            task_activity("monthly", tasks, json!({ "points": 11 })),
            json!({ "slug": "card", "kind": "poster", "name": "祝福卡", "config": { "template": "card", "title": "祝福卡" } }),
            json!({ "slug": "duo", "kind": "team", "name": "双人组队", "config": { "team_size": 2, "reward": { "points": 3 } } }),
        ],
    )
    .await;
    let (_, token) = app.customer("oTaskPlayer0001").await;
    let before = app.points_balance(&token).await;

    play(&app, &token, 1, &[true, true, true], 2).await;
    let shown = board(&app, &token, CAMPAIGN).await;
    assert_eq!(
        task_of(&shown, "monthly", "pass-1")["done"],
        json!(true),
        "progress is read from the outbox at once"
    );
    let quiz_points = 30;
    assert_eq!(
        app.points_balance(&token).await,
        before + quiz_points,
        "the task pays when settled"
    );
    // A paused campaign pays nothing; what was done waits for the resume.
    let pause = format!("/admin/v1/campaigns/{CAMPAIGN}/pause");
    let paused = app
        .post_json(&pause, Some(&operator), &json!({ "reason": "核查" }))
        .await;
    assert_eq!(paused.status(), 200);
    assert_eq!(settle(&app).await.deferred, 1);
    assert_eq!(app.points_balance(&token).await, before + quiz_points);
    let resume = format!("/admin/v1/campaigns/{CAMPAIGN}/resume");
    let resumed = app
        .post_json(&resume, Some(&operator), &json!({ "reason": "核查完毕" }))
        .await;
    assert_eq!(resumed.status(), 200);
    // Looked at again a minute later.
    app.clock.advance(Duration::minutes(2));
    assert_eq!(settle(&app).await.payments, 1);
    assert_eq!(app.points_balance(&token).await, before + quiz_points + 7);

    wechat_passes_everything(&app).await;
    make_poster(&app, &token, CAMPAIGN, "card").await;
    complete_duo(&app, &token, CAMPAIGN, "duo", "oTaskFriend0001").await;
    let shown = board(&app, &token, CAMPAIGN).await;
    assert_eq!(task_of(&shown, "monthly", "card")["done"], json!(true));
    assert_eq!(task_of(&shown, "monthly", "duo")["done"], json!(true));
    assert_eq!(activity_of(&shown, "monthly")["done"], json!(true));
    settle(&app).await;
    settle(&app).await;
    assert_eq!(
        app.points_balance(&token).await,
        before + quiz_points + 7 + 3 + 11,
        "the team's reward and the activity's, each once"
    );
}

#[tokio::test]
async fn content_reads_are_timed_by_the_server_from_the_first_open() {
    let app = spawn_app().await;
    let tasks = json!([{ "id": "read", "title": "阅读理财小知识", "kind": "content_read", "content": "tips-1",
                         "min_seconds": 30, "body": "先存后花", "reward": { "points": 9 } }]);
    live_quiz_beside(
        &app,
        quiz_config(),
        &[task_activity("reading", tasks, Value::Null)],
    )
    .await;
    let (_, token) = app.customer("oReader00000001").await;
    let before = app.points_balance(&token).await;
    let unopened = content(&app, &token, CAMPAIGN, "tips-1", "read").await;
    assert_eq!(error_code(unopened).await, "content_not_opened");
    let unknown = content(&app, &token, CAMPAIGN, "no-such-content", "open").await;
    assert_eq!(error_code(unknown).await, "content_not_found");
    let opened: Value = content(&app, &token, CAMPAIGN, "tips-1", "open")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(opened["min_seconds"], json!(30));
    app.clock.advance(Duration::seconds(10));
    // Opening again does not restart (or shorten) the clock; reporting early is refused.
    content(&app, &token, CAMPAIGN, "tips-1", "open").await;
    let early = content(&app, &token, CAMPAIGN, "tips-1", "read").await;
    assert_eq!(error_code(early).await, "read_too_short");
    assert_eq!(app.count_events("content_read").await, 0);
    app.clock.advance(Duration::seconds(20));
    let read: Value = content(&app, &token, CAMPAIGN, "tips-1", "read")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["paid"][0]["paid"]["points"], json!(9));
    let again = content(&app, &token, CAMPAIGN, "tips-1", "read").await;
    assert_eq!(again.status(), 200);
    assert_eq!(app.points_balance(&token).await, before + 9);
    assert_eq!(app.count_events("content_read").await, 1);
    let shown = board(&app, &token, CAMPAIGN).await;
    assert_eq!(
        task_of(&shown, "reading", "read")["body"],
        json!("先存后花")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_form_is_checked_kept_shown_back_and_pays_once_however_often_it_is_sent() {
    let app = spawn_app().await;
    let tasks = json!([{ "id": "budget", "title": "设置月度预算", "kind": "form_submitted", "reward": { "points": 20 },
        "fields": [
            { "name": "budget_yuan", "label": "每月预算", "kind": "number", "min": 100, "max": 100000, "unit": "元" },
            { "name": "biggest", "label": "最大开销", "kind": "choice", "options": ["餐饮", "出行"] },
            { "name": "note", "label": "备注", "kind": "text", "max_chars": 10, "required": false }
        ] }]);
    live_quiz_beside(
        &app,
        quiz_config(),
        &[task_activity("budgeting", tasks, Value::Null)],
    )
    .await;
    let (_, token) = app.customer("oBudgeter000001").await;
    let before = app.points_balance(&token).await;
    let path = (CAMPAIGN, "budgeting", "budget");
    for bad in [
        json!({ "budget_yuan": 50, "biggest": "餐饮" }),
        json!({ "budget_yuan": 500, "biggest": "购物" }),
        json!({ "budget_yuan": 500 }),
        json!({ "budget_yuan": "500", "biggest": "餐饮" }),
        json!({ "budget_yuan": 500, "biggest": "餐饮", "note": "这段备注远远超过了十个字的上限" }),
        json!({ "budget_yuan": 500, "biggest": "餐饮", "user_id": 1 }),
        json!(["not", "an", "object"]),
    ] {
        let refused = submit_form(&app, &token, path, bad.clone()).await;
        assert_eq!(
            (refused.status().as_u16(), error_code(refused).await),
            (422, "invalid_form".to_owned()),
            "{bad}"
        );
    }
    let wrong_task = submit_form(&app, &token, (CAMPAIGN, "budgeting", "nope"), json!({})).await;
    assert_eq!(error_code(wrong_task).await, "task_not_found");
    assert_eq!(app.count_events("form_submitted").await, 0);
    let answers = json!({ "budget_yuan": 3000, "biggest": "餐饮", "note": " 少点外卖 " });
    // Ten submissions and four job passes at once: one payment.
    let (sent, _) = tokio::join!(
        join_all((0..10).map(|_| submit_form(&app, &token, path, answers.clone()))),
        join_all((0..4).map(|_| settle(&app)))
    );
    assert!(sent.iter().all(|r| r.status() == 200));
    settle(&app).await;
    assert_eq!(app.points_balance(&token).await, before + 20);
    // Changed later: kept and shown back, paid nothing more.
    let changed = submit_form(
        &app,
        &token,
        path,
        json!({ "budget_yuan": 2500, "biggest": "出行" }),
    )
    .await;
    assert_eq!(changed.status(), 200);
    let shown = board(&app, &token, CAMPAIGN).await;
    assert_eq!(
        task_of(&shown, "budgeting", "budget")["answers"],
        json!({ "budget_yuan": 2500, "biggest": "出行" })
    );
    assert_eq!(app.points_balance(&token).await, before + 20);
    assert_eq!(app.count_events("form_submitted").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_passes_the_image_check_and_staff_review_once_with_audit() {
    let app = spawn_app().await;
    let tasks = json!([{ "id": "offer", "title": "上传录用通知截图", "kind": "upload_reviewed",
                         "prompt": "上传offer截图", "reward": { "points": 40 } }]);
    live_quiz_beside(
        &app,
        quiz_config(),
        &[task_activity("graduates", tasks, Value::Null)],
    )
    .await;
    let (_, token) = app.customer("oGraduate000001").await;
    let before = app.points_balance(&token).await;
    let path = (CAMPAIGN, "graduates", "offer");
    let too_large = upload(&app, &token, path, "image/png", vec![0u8; 1024 * 1024 + 1]).await;
    assert_eq!(error_code(too_large).await, "payload_too_large");
    let not_image = upload(
        &app,
        &token,
        path,
        "image/png",
        b"GIF89a not a png".to_vec(),
    )
    .await;
    assert_eq!(error_code(not_image).await, "unsupported_media_type");
    let wrong_type = upload(&app, &token, path, "text/plain", png(8, 8)).await;
    assert_eq!(error_code(wrong_type).await, "unsupported_media_type");
    app.wechat.issues_token("TASK_TOKEN").await;
    wiremock::Mock::given(wiremock::matchers::path("/wxa/img_sec_check"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({ "errcode": 87014, "errmsg": "risky content" })),
        )
        .up_to_n_times(1)
        .mount(&app.wechat.server)
        .await;
    let risky = upload(&app, &token, path, "image/png", png(8, 8)).await;
    assert_eq!(error_code(risky).await, "content_rejected");
    assert_eq!(
        app.wechat.calls("/wxa/img_sec_check").await,
        1,
        "only a real image is sent to WeChat"
    );

    image_check_answers(&app).await;
    // Larger than WeChat's check takes: checked as a scaled copy, stored as uploaded.
    let first: Value = upload(&app, &token, path, "image/png", png(1000, 1500))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["status"], json!("pending"));
    let checked = app.wechat.requests("/wxa/img_sec_check").await;
    assert!(checked.last().unwrap().body.len() < png(1000, 1500).len() + 1024);
    let checks = app.wechat.calls("/wxa/img_sec_check").await;
    let second = upload(&app, &token, path, "image/png", png(8, 8)).await;
    assert_eq!(error_code(second).await, "upload_exists");
    assert_eq!(
        app.wechat.calls("/wxa/img_sec_check").await,
        checks,
        "no check spent on it"
    );

    let operator = app.staff_token("oscar", Role::Operator).await;
    let auditor = app.staff_token("audrey", Role::Auditor).await;
    let queue: Value = app
        .get("/admin/v1/task-uploads", Some(&auditor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 1);
    assert!(
        !queue.to_string().contains("oGraduate"),
        "no openid in staff's queue"
    );
    let id = first["id"].as_i64().unwrap();
    let image = app
        .get(
            &format!("/admin/v1/task-uploads/{id}/image"),
            Some(&auditor),
        )
        .await;
    assert_eq!(image.bytes().await.unwrap().to_vec(), png(1000, 1500));
    let customer_cannot = decide(&app, &token, id, json!({ "approve": true })).await;
    assert_eq!(customer_cannot.status(), 403);
    let auditor_cannot = decide(&app, &auditor, id, json!({ "approve": true })).await;
    assert_eq!(auditor_cannot.status(), 403);
    let no_reason = decide(&app, &operator, id, json!({ "approve": false })).await;
    assert_eq!(error_code(no_reason).await, "invalid_input");

    let audited = app.count_audit_entries().await;
    let rejected = decide(
        &app,
        &operator,
        id,
        json!({ "approve": false, "reason": "截图看不清" }),
    )
    .await;
    assert_eq!(rejected.status(), 200);
    let final_decision = decide(&app, &operator, id, json!({ "approve": true })).await;
    assert_eq!(error_code(final_decision).await, "upload_decided");
    let shown = board(&app, &token, CAMPAIGN).await;
    let task = task_of(&shown, "graduates", "offer");
    assert_eq!(
        (
            task["upload"]["status"].clone(),
            task["upload"]["reason"].clone(),
            task["done"].clone()
        ),
        (json!("rejected"), json!("截图看不清"), json!(false))
    );

    // A rejection frees the task: the second try is approved by one of several staff deciding at once.
    let retry: Value = upload(&app, &token, path, "image/png", png(8, 8))
        .await
        .json()
        .await
        .unwrap();
    let retry_id = retry["id"].as_i64().unwrap();
    let decisions =
        join_all((0..8).map(|_| decide(&app, &operator, retry_id, json!({ "approve": true }))))
            .await;
    assert_eq!(decisions.iter().filter(|r| r.status() == 200).count(), 1);
    assert_eq!(
        app.count_audit_entries().await,
        audited + 2,
        "one audit entry per decision"
    );
    let shown = board(&app, &token, CAMPAIGN).await;
    assert_eq!(task_of(&shown, "graduates", "offer")["done"], json!(true));
    assert_eq!(app.points_balance(&token).await, before + 40);
    settle(&app).await;
    assert_eq!(app.points_balance(&token).await, before + 40);
    assert_eq!(app.count_events("upload_approved").await, 1);
}

#[tokio::test]
async fn a_coupon_used_at_the_counter_a_phone_binding_and_a_friend_complete_their_tasks() {
    let app = spawn_app().await;
    let operator = app.staff_token("oscar", Role::Operator).await;
    let template = json!({ "slug": "shop-30", "name": "商户满减券", "value_fen": 3000, "min_spend_fen": 10000,
                           "valid_days": 30, "per_user_limit": 1, "total_limit": 100 });
    assert_eq!(
        app.post_json("/admin/v1/coupon-templates", Some(&operator), &template)
            .await
            .status(),
        201
    );
    let tasks = json!([
        { "id": "guide", "title": "阅读商户指南领券", "kind": "content_read", "content": "guide", "min_seconds": 5, "reward": { "coupon": "shop-30" } },
        { "id": "use", "title": "到店核销", "kind": "coupon_used", "template": "shop-30", "reward": { "points": 50 } },
        { "id": "phone", "title": "绑定手机号", "kind": "phone_bound" },
        { "id": "friend", "title": "邀请1位好友", "kind": "referral_credited", "count": 1 }
    ]);
    live_quiz_beside(
        &app,
        quiz_config(),
        &[task_activity("merchants", tasks, json!({ "points": 5 }))],
    )
    .await;
    let (_, token) = app.customer("oShopper0000001").await;
    let before = app.points_balance(&token).await;
    content(&app, &token, CAMPAIGN, "guide", "open").await;
    app.clock.advance(Duration::seconds(5));
    assert_eq!(
        content(&app, &token, CAMPAIGN, "guide", "read")
            .await
            .status(),
        200
    );
    let coupons: Value = app
        .get("/api/v1/me/coupons", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let code = coupons["coupons"][0]["code"].as_str().unwrap().to_owned();
    let used = app
        .post_json(
            &format!("/admin/v1/coupons/{code}/use"),
            Some(&operator),
            &json!({}),
        )
        .await;
    assert_eq!(used.status(), 200);

    wechat_passes_everything(&app).await;
    bind_phone(&app, &token).await;

    let invite: Value = app
        .get("/api/v1/me/referrals", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let friend = json!({ "openid": "oShopperFriend01", "inviter": invite["code"] });
    assert_eq!(
        app.post_json("/api/v1/auth/dev-login", None, &friend)
            .await
            .status(),
        200
    );

    // Two new payments (the use's points, the activity's): the coupon paid at the read is not paid, nor
    // reported, again.
    assert_eq!(settle(&app).await.payments, 2);
    let shown = board(&app, &token, CAMPAIGN).await;
    for task in ["guide", "use", "phone", "friend"] {
        assert_eq!(
            task_of(&shown, "merchants", task)["done"],
            json!(true),
            "{task}"
        );
    }
    assert_eq!(app.points_balance(&token).await, before + 50 + 5);
    settle(&app).await;
    assert_eq!(app.points_balance(&token).await, before + 50 + 5);
}

/// The right options' texts of each demo question, by stem, from the demo bank's CSV.
fn demo_answers() -> HashMap<String, Vec<String>> {
    let text = std::fs::read_to_string(config_dir().join("quiz/financial-literacy.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut answers = HashMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        let right = record[column("answer")]
            .split(',')
            .map(|letter| {
                let name = format!("option_{}", letter.trim().to_lowercase());
                record[column(&name)].to_owned()
            })
            .collect();
        answers.insert(record[column("stem")].to_owned(), right);
    }
    answers
}

/// Passes `level` of the campaign's demo quiz, answering from the bank.
async fn pass_demo_level(
    app: &TestApp,
    token: &str,
    campaign: &str,
    level: u64,
    answers: &HashMap<String, Vec<String>>,
) {
    let started = app
        .post_json(
            &format!("/api/v1/campaigns/{campaign}/quiz/levels/{level}/attempts"),
            Some(token),
            &json!({}),
        )
        .await;
    assert!(started.status().is_success(), "{campaign} level {level}");
    let attempt: Value = started.json().await.unwrap();
    let id = attempt["attempt_id"].as_str().unwrap().to_owned();
    let mut question = attempt["question"].clone();
    while question.is_object() {
        app.clock.advance(Duration::seconds(3));
        let right = &answers[question["stem"].as_str().unwrap()];
        let chosen: Vec<String> = question["options"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| right.contains(&o["text"].as_str().unwrap().to_owned()))
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect();
        let answered: Value = app
            .post_json(
                &format!("/api/v1/campaigns/{campaign}/quiz/attempts/{id}/answers"),
                Some(token),
                &json!({ "question": question["number"], "options": chosen }),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(answered["correct"], json!(true));
        question = answered["next_question"].clone();
    }
}

/// Does `task` of `activity` as a customer would, through the API of its source.
struct Doer<'a> {
    app: &'a TestApp,
    token: &'a str,
    operator: &'a str,
    answers: &'a HashMap<String, Vec<String>>,
}

async fn complete(doer: &Doer<'_>, campaign: &str, activity: &str, task: &Value) {
    let (app, token, operator, answers) = (doer.app, doer.token, doer.operator, doer.answers);
    match task["kind"].as_str().unwrap() {
        "check_in" => {
            for day in 0..task["days"].as_u64().unwrap() {
                if day > 0 {
                    app.clock.advance(Duration::days(1));
                }
                let response = check_in(app, token, campaign).await;
                if response.status() != 200 {
                    // Only because another task's check-in counted today already.
                    assert_eq!(error_code(response).await, "already_checked_in");
                }
            }
        }
        "content_read" => {
            let id = task["content"].as_str().unwrap();
            assert_eq!(
                content(app, token, campaign, id, "open").await.status(),
                200
            );
            app.clock
                .advance(Duration::seconds(task["min_seconds"].as_i64().unwrap()));
            assert_eq!(
                content(app, token, campaign, id, "read").await.status(),
                200
            );
        }
        "quiz_pass" => {
            for level in 1..=task["level"].as_u64().unwrap() {
                pass_demo_level(app, token, campaign, level, answers).await;
            }
        }
        "poster_made" => {
            make_poster(app, token, campaign, task["activity"].as_str().unwrap()).await
        }
        "team_completed" => {
            let team = task["activity"].as_str().unwrap();
            complete_duo(app, token, campaign, team, "oDemoTeamMate01").await;
        }
        "phone_bound" => bind_phone(app, token).await,
        "coupon_used" => {
            let coupons: Value = app
                .get("/api/v1/me/coupons", Some(token))
                .await
                .json()
                .await
                .unwrap();
            let template = task["template"].as_str().unwrap();
            let coupon = coupons["coupons"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| {
                    c["status"] == json!("active") && c["name"].as_str().unwrap().contains("商户")
                })
                .unwrap_or_else(|| panic!("no {template} coupon in {coupons}"));
            let used = app
                .post_json(
                    &format!("/admin/v1/coupons/{}/use", coupon["code"].as_str().unwrap()),
                    Some(operator),
                    &json!({}),
                )
                .await;
            assert_eq!(used.status(), 200);
        }
        "form_submitted" => {
            let answers: serde_json::Map<String, Value> = task["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|field| {
                    let value = match field["kind"].as_str().unwrap() {
                        "number" => field["min"].clone(),
                        "choice" => field["options"][0].clone(),
                        _ => json!("攒钱"),
                    };
                    (field["name"].as_str().unwrap().to_owned(), value)
                })
                .collect();
            let saved = submit_form(
                app,
                token,
                (campaign, activity, task["id"].as_str().unwrap()),
                Value::Object(answers),
            )
            .await;
            assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
        }
        "upload_reviewed" => {
            let sent = upload(
                app,
                token,
                (campaign, activity, task["id"].as_str().unwrap()),
                "image/png",
                png(16, 16),
            )
            .await;
            assert_eq!(sent.status(), 201);
            let id = sent.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
            assert_eq!(
                decide(app, operator, id, json!({ "approve": true }))
                    .await
                    .status(),
                200
            );
        }
        other => panic!("a demo task of kind {other} the test cannot do"),
    }
}

#[tokio::test]
async fn every_demo_task_activity_can_be_completed_by_a_customer_through_the_api() {
    let app = spawn_tireless_app().await;
    app.demo_year_at("2026-01-20 12:00").await;
    wechat_passes_everything(&app).await;
    let answers = demo_answers();
    let calendar =
        wxcampaign::planning::import::read(&config_dir().join("calendar/2026.toml")).unwrap();
    let (_, token) = app.customer("oDemoAllTasks01").await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let doer = Doer {
        app: &app,
        token: &token,
        operator: &operator,
        answers: &answers,
    };
    let mut completed = 0;
    for campaign in &calendar.campaigns {
        let mut tasks: Vec<_> = campaign
            .activities
            .iter()
            .filter(|a| a.kind == wxcampaign::calendar::ActivityKind::Task)
            .map(|a| (wxcampaign::calendar::parse_time(&a.starts_at).unwrap(), a))
            .collect();
        tasks.sort_by_key(|(opens, _)| *opens);
        for (opens, activity) in tasks {
            if app.clock.now() < opens {
                app.clock.set(opens + Duration::hours(12));
            }
            let before = app.points_balance(&token).await;
            for task in activity.config["tasks"].as_array().unwrap() {
                complete(&doer, &campaign.slug, &activity.slug, task).await;
            }
            settle(&app).await;
            let shown = board(&app, &token, &campaign.slug).await;
            let view = activity_of(&shown, &activity.slug);
            assert_eq!(view["done"], json!(true), "{}: {view}", activity.slug);
            let pays_points = view["reward"]["points"].as_i64().unwrap_or(0) > 0
                || view["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["reward"]["points"].as_i64().unwrap_or(0) > 0);
            if pays_points {
                assert!(
                    app.points_balance(&token).await > before,
                    "{} paid its points",
                    activity.slug
                );
            }
            completed += 1;
        }
    }
    assert_eq!(completed, 14);
}

#[tokio::test]
async fn the_seven_day_plan_unlocks_day_by_day_and_pays_the_new_customer_pack_once() {
    let app = spawn_tireless_app().await;
    app.demo_year_at("2026-09-20 09:00").await;
    let old_hand = app.customer_token("oOldCustomer01").await;
    // First seen just before Q4 opens (too late to finish Q3's plan): Q4's starts for them on its first day.
    app.clock
        .set(wxcampaign::calendar::parse_time("2026-09-28 09:00").unwrap());
    let (early, early_token) = app.customer("oJustBeforeQ401").await;
    let opening =
        wxcampaign::tasks::service::plan_reminders(&app.db, "2026-10-01".parse().unwrap())
            .await
            .unwrap();
    assert_eq!(
        opening
            .iter()
            .map(|r| (r.user_id, r.day))
            .collect::<Vec<_>>(),
        vec![(early, 1)]
    );
    app.clock
        .set(wxcampaign::calendar::parse_time("2026-10-01 10:00").unwrap());
    let first_day = board(&app, &early_token, "q4-2026-thanks").await;
    let days = activity_of(&first_day, "q4-newcomer-plan")["tasks"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        (days[0]["unlocked"].clone(), days[1]["unlocked"].clone()),
        (json!(true), json!(false))
    );
    app.clock
        .set(wxcampaign::calendar::parse_time("2026-12-02 20:00").unwrap());
    let campaign = "q4-2026-thanks";
    let plan = "q4-newcomer-plan";
    let (newcomer, token) = app.customer("oNewcomer00001").await;
    // The journey's hook: on each day, the newcomer reaches that day of the plan (and the old customer none).
    for (date, day) in [("2026-12-02", 1), ("2026-12-04", 3), ("2026-12-08", 7)] {
        let reminders = wxcampaign::tasks::service::plan_reminders(&app.db, date.parse().unwrap())
            .await
            .unwrap();
        let reached: Vec<(i64, u32)> = reminders.iter().map(|r| (r.user_id, r.day)).collect();
        assert_eq!(reached, vec![(newcomer, day)], "{date}");
    }
    let shown = board(&app, &token, campaign).await;
    let days = activity_of(&shown, plan)["tasks"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(days.len(), 7);
    assert_eq!(
        days.iter()
            .map(|d| d["unlocked"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [true, false, false, false, false, false, false]
    );
    assert!(days[1]["tip"].is_null() && days[0]["tip"]["title"].is_string());
    // Day 4's form is not open on day 1.
    let early = submit_form(
        &app,
        &token,
        (campaign, plan, "day4-goal"),
        json!({ "goal_yuan": 1000, "months": 6 }),
    )
    .await;
    assert_eq!(error_code(early).await, "plan_day_locked");
    let early_read = content(&app, &token, campaign, "newcomer-lesson-6", "open").await;
    assert_eq!(error_code(early_read).await, "plan_day_locked");
    // A customer first seen before the plan's window is not its new customer.
    let not_new = submit_form(
        &app,
        &old_hand,
        (campaign, plan, "day4-goal"),
        json!({ "goal_yuan": 1000, "months": 6 }),
    )
    .await;
    assert_eq!(error_code(not_new).await, "not_new_customer");

    wechat_passes_everything(&app).await;
    let before = app.points_balance(&token).await;
    let answers = HashMap::new();
    let operator = app.staff_token("olivia", Role::Operator).await;
    let doer = Doer {
        app: &app,
        token: &token,
        operator: &operator,
        answers: &answers,
    };
    for (n, day) in days.iter().enumerate() {
        if n > 0 {
            // The next Asia/Shanghai day, mid-morning.
            let next =
                wxcampaign::calendar::parse_time(&format!("2026-12-{:02} 10:00", 2 + n)).unwrap();
            app.clock.set(next);
        }
        let shown = board(&app, &token, campaign).await;
        assert_eq!(
            task_of(&shown, plan, day["id"].as_str().unwrap())["unlocked"],
            json!(true)
        );
        complete(&doer, campaign, plan, day).await;
        settle(&app).await;
        let shown = board(&app, &token, campaign).await;
        assert_eq!(
            task_of(&shown, plan, day["id"].as_str().unwrap())["done"],
            json!(true),
            "day {}",
            n + 1
        );
        assert_eq!(activity_of(&shown, plan)["done"], json!(n == 6));
    }
    assert_eq!(app.points_balance(&token).await, before + 200);
    let coupons: Value = app
        .get("/api/v1/me/coupons", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        coupons["coupons"].as_array().unwrap().len(),
        1,
        "the pack's coupon, once"
    );
    settle(&app).await;
    assert_eq!(app.points_balance(&token).await, before + 200);
    // The old customer has no check-in task open to them in December (only the plan's), nor the plan.
    let refused = check_in(&app, &old_hand, campaign).await;
    assert_eq!(error_code(refused).await, "not_new_customer");
    assert_eq!(
        activity_of(&board(&app, &old_hand, campaign).await, plan)["eligible"],
        json!(false)
    );
    // The plan-day journey stops once a customer finishes the plan: turned on now, on the plan's last day, it
    // finds the newcomer at day 7 of it and sends them nothing.
    let last_day =
        wxcampaign::tasks::service::plan_reminders(&app.db, "2026-12-08".parse().unwrap())
            .await
            .unwrap();
    assert!(last_day.iter().any(|r| (r.user_id, r.day) == (newcomer, 7)));
    let manager = app.staff_token("maggie", Role::CommunityManager).await;
    let journey = json!({
        "slug": "plan-days", "name": "plan-days", "trigger": { "kind": "plan_day" },
        "channel": "subscribe",
        "variants": [{ "name": "A", "template_id": "TMPL_J", "page": "pages/tasks/index",
                       "fields": { "thing1": "{{plan_tip}}", "time2": "{{today}}" } }]
    });
    let created = app
        .post_json("/admin/v1/journeys", Some(&manager), &journey)
        .await;
    assert_eq!(created.status(), 201);
    let on = app
        .post_json(
            "/admin/v1/journeys/plan-days/enable",
            Some(&manager),
            &json!({}),
        )
        .await;
    assert_eq!(on.status(), 200);
    let run = wxcampaign::journeys::run(app.delivering(), &app.settings)
        .await
        .unwrap();
    assert_eq!((run.journeys, run.fired), (1, 0), "{run:?}");
}

#[tokio::test]
async fn a_task_config_that_does_not_parse_or_names_what_is_not_there_is_refused() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let base = app.clock.now();
    let at = |d: Duration| wxcampaign::calendar::shanghai(base + d);
    for (config, says) in [
        (json!({ "tasks": ["签到7天"] }), "签到7天"),
        (
            json!({ "tasks": [{ "id": "t1", "title": "签到", "kind": "check_in" }] }),
            "days is required",
        ),
        (
            json!({ "tasks": [{ "id": "t1", "title": "过关", "kind": "quiz_pass", "level": 3 }] }),
            "no level 3",
        ),
        (
            json!({ "tasks": [{ "id": "t1", "title": "海报", "kind": "poster_made", "activity": "nope" }] }),
            "no poster activity",
        ),
        (
            json!({ "tasks": [{ "id": "t1", "title": "分享活动页面", "kind": "content_read", "content": "c", "min_seconds": 5 }] }),
            "share",
        ),
    ] {
        let campaign = json!({
            "slug": "bad-tasks", "name": "任务", "theme": "任务", "year": 2026, "quarter": 4,
            "preheat_at": at(Duration::minutes(30)), "starts_at": at(Duration::hours(1)), "ends_at": at(Duration::days(30)),
            "rules_text": "规则",
            "activities": [{ "slug": "tasks", "kind": "task", "name": "任务", "starts_at": at(Duration::hours(1)),
                             "ends_at": at(Duration::days(10)), "config": config }]
        });
        let refused = app
            .post_json("/admin/v1/campaigns", Some(&operator), &campaign)
            .await;
        assert_eq!(refused.status(), 400);
        let body = refused.text().await.unwrap();
        assert!(
            body.contains("invalid_campaign") && body.contains(says),
            "{says}: {body}"
        );
    }
    // A draft's tasks are not shown to customers.
    let draft = json!({
        "slug": "draft-tasks", "name": "任务", "theme": "任务", "year": 2026, "quarter": 4,
        "preheat_at": at(Duration::minutes(30)), "starts_at": at(Duration::hours(1)), "ends_at": at(Duration::days(30)),
        "rules_text": "规则",
        "activities": [{ "slug": "tasks", "kind": "task", "name": "任务", "starts_at": at(Duration::hours(1)),
                         "ends_at": at(Duration::days(10)),
                         "config": { "tasks": [{ "id": "t1", "title": "签到", "kind": "check_in", "days": 1 }] } }]
    });
    let created = app
        .post_json("/admin/v1/campaigns", Some(&operator), &draft)
        .await;
    assert_eq!(created.status(), 201);
    let token = app.customer_token("oDraftPeeker01").await;
    let hidden = app
        .get("/api/v1/campaigns/draft-tasks/tasks", Some(&token))
        .await;
    assert_eq!(error_code(hidden).await, "campaign_not_found");
}

#[tokio::test]
async fn a_level_passed_before_a_tasks_window_counts_when_passed_again_inside_it() {
    let app = spawn_tireless_app().await;
    app.demo_year_at("2026-02-10 12:00").await;
    let answers = demo_answers();
    let (_, token) = app.customer("oEarlyPasser01").await;
    let campaign = "q1-2026-spring";
    for level in 1..=4 {
        pass_demo_level(&app, &token, campaign, level, &answers).await;
    }
    settle(&app).await;
    app.clock
        .set(wxcampaign::calendar::parse_time("2026-03-05 12:00").unwrap());
    let shown = board(&app, &token, campaign).await;
    assert_eq!(
        task_of(&shown, "mar-consumer-day", "fraud-quiz")["done"],
        json!(false),
        "a February pass is not March's"
    );
    pass_demo_level(&app, &token, campaign, 4, &answers).await;
    let chances_before = spring_chances(&app, &token).await;
    assert_eq!(settle(&app).await.payments, 1);
    let shown = board(&app, &token, campaign).await;
    assert_eq!(activity_of(&shown, "mar-consumer-day")["done"], json!(true));
    assert_eq!(spring_chances(&app, &token).await, chances_before + 1);
}

async fn spring_chances(app: &TestApp, token: &str) -> i64 {
    let chances: Value = app
        .get(
            "/api/v1/campaigns/q1-2026-spring/lottery/spring-lottery-2026/chances",
            Some(token),
        )
        .await
        .json()
        .await
        .unwrap();
    chances["left"].as_i64().unwrap()
}
