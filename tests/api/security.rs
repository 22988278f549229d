//! What a hostile client tried, and what it gets now: bounded metrics, checked arithmetic, replay windows,
//! no lock-outs, no reused keys, no ghost or blocked accounts, no guessed charsets.

use reqwest::Method;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use wxcampaign::auth::Role;
use wxcampaign::entities::{draw_records, points_ledger};

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp, STAFF_PASSWORD};
use crate::wechat_sim::{fresh_nonce, now, sign, WeChatSim, OPENID};

async fn metrics_lines(app: &TestApp) -> usize {
    app.get("/metrics", None)
        .await
        .text()
        .await
        .unwrap()
        .lines()
        .count()
}

#[tokio::test]
async fn made_up_methods_and_unmatched_routes_share_one_label_each() {
    let app = spawn_app().await;
    let odd = |i: usize| {
        app.api
            .request(
                Method::from_bytes(format!("M{i}X").as_bytes()).unwrap(),
                app.url(&format!("/api/v1/nowhere/{i}")),
            )
            .send()
    };
    for i in 0..5 {
        assert_eq!(odd(i).await.unwrap().status(), 404);
        app.get(&format!("/nowhere/{i}"), None).await;
    }
    // The first scrape adds the scrape's own series; the second is the baseline.
    metrics_lines(&app).await;
    let after_a_few = metrics_lines(&app).await;
    for i in 5..300 {
        assert_eq!(odd(i).await.unwrap().status(), 404);
        app.get(&format!("/nowhere/{i}"), None).await;
    }
    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(
        text.lines().count(),
        after_a_few,
        "300 made-up methods and paths added no series"
    );
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(text.contains(r#"route="unmatched""#), "{text}");
    assert!(!text.contains("M7X"), "no made-up method becomes a label");
}

#[tokio::test]
async fn points_adjustments_that_would_overflow_are_refused_and_record_nothing() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let user_id = app.customer_id("oOverflowUser0001").await;
    for delta in [
        json!(9_223_372_036_854_775_807i64),
        json!(4_611_686_018_427_387_909i64),
        json!(-9_223_372_036_854_775_808i64),
        json!(100_000_001),
    ] {
        let response = app
            .adjust_points(
                &operator,
                user_id,
                &delta,
                &uuid::Uuid::new_v4().to_string(),
            )
            .await;
        assert_eq!(response.status(), 400, "{delta}");
        assert_eq!(error_code(response).await, "invalid_points", "{delta}");
    }
    assert_eq!(
        points_ledger::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    let fine = app
        .adjust_points(&operator, user_id, &json!(100_000_000), "adjust-max-0001")
        .await;
    assert_eq!(fine.status(), 200, "the limit itself is allowed");
}

#[tokio::test]
async fn a_reused_adjustment_key_with_another_body_is_422_even_after_the_store_forgets() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let user_id = app.customer_id("oReusedKeyUser001").await;
    let first = app
        .adjust_points(&operator, user_id, &json!(50), "adjust-key-00001")
        .await;
    assert_eq!(first.status(), 200);
    let replay = app
        .adjust_points(&operator, user_id, &json!(50), "adjust-key-00001")
        .await;
    assert_eq!(replay.status(), 200, "the same request replays");

    let other_body = app
        .adjust_points(&operator, user_id, &json!(5000), "adjust-key-00001")
        .await;
    assert_eq!(other_body.status(), 422);
    assert_eq!(error_code(other_body).await, "idempotency_key_reused");

    // A store that lost the key's fingerprint: the ledger still knows what the key did.
    let forgetful = app.instance_with_empty_store().await;
    let other_body = forgetful
        .adjust_points(&operator, user_id, &json!(5000), "adjust-key-00001")
        .await;
    assert_eq!(other_body.status(), 422);
    assert_eq!(error_code(other_body).await, "idempotency_key_reused");
    let other_customer = app.customer_id("oReusedKeyUser002").await;
    let other_body = forgetful
        .adjust_points(&operator, other_customer, &json!(50), "adjust-key-00001")
        .await;
    assert_eq!(
        other_body.status(),
        422,
        "another customer under the same key"
    );
    assert_eq!(error_code(other_body).await, "idempotency_key_reused");
    let token = app.customer_token("oReusedKeyUser001").await;
    assert_eq!(app.points_balance(&token).await, 50, "adjusted once");
}

#[tokio::test]
async fn a_signed_callback_with_an_overflowing_timestamp_is_stale_and_records_nothing() {
    let sim = WeChatSim::start("plain", false).await;
    let ancient = (chrono::Utc::now().timestamp() as i128 - (1i128 << 63)).to_string();
    let future = i64::MAX.to_string();
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_fixture00001]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>1</MsgId></xml>"
    );
    for timestamp in [ancient, future] {
        let response = sim
            .post(&sim.plain_query(&timestamp, &fresh_nonce()), xml.clone())
            .await;
        assert_eq!(response.status(), 401, "{timestamp}");
        assert_eq!(error_code(response).await, "stale_timestamp");
    }
    assert_eq!(sim.count_inbox().await, 0);
}

#[tokio::test]
async fn the_get_verification_expires_and_reflects_only_plain_echostrs() {
    let sim = WeChatSim::start("safe", false).await;
    let app = &sim.app;
    let verify = |timestamp: String, echostr: &str| {
        let nonce = fresh_nonce();
        let signature = sign(&[&sim.token, &timestamp, &nonce]);
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("signature", &signature)
            .append_pair("timestamp", &timestamp)
            .append_pair("nonce", &nonce)
            .append_pair("echostr", echostr)
            .finish();
        let path = format!("/wechat/callback?{query}");
        async move { app.get(&path, None).await }
    };
    // Captured in 2001: correctly signed, but never again accepted.
    let replayed = verify("978307200".into(), "4567890123").await;
    assert_eq!(replayed.status(), 401);
    assert_eq!(error_code(replayed).await, "stale_timestamp");

    let markup = verify(now(), "<script>alert(1)</script>").await;
    assert_eq!(markup.status(), 400);
    assert_eq!(error_code(markup).await, "invalid_echostr");

    let fresh = verify(now(), "4567890123").await;
    assert_eq!(fresh.status(), 200);
    assert_eq!(fresh.headers()["x-content-type-options"], "nosniff");
    assert_eq!(fresh.text().await.unwrap(), "4567890123");
}

#[tokio::test]
async fn every_response_says_nosniff_and_token_responses_are_not_cached() {
    let app = spawn_app().await;
    for path in ["/healthz", "/no/such/route", "/api/v1/me"] {
        let response = app.get(path, None).await;
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
    let dev_login = app
        .post_json(
            "/api/v1/auth/dev-login",
            None,
            &json!({ "openid": "oNoStoreUser00001" }),
        )
        .await;
    assert_eq!(dev_login.headers()["cache-control"], "no-store");
    app.create_staff("olivia", Role::Operator).await;
    let staff_login = app.staff_login("olivia", STAFF_PASSWORD).await;
    assert_eq!(staff_login.status(), 200);
    assert_eq!(staff_login.headers()["cache-control"], "no-store");
    app.wechat
        .answers(
            "GET",
            "/sns/jscode2session",
            json!({ "openid": "oNoStoreMini00001", "session_key": "k" }),
        )
        .await;
    let wx_login = app
        .post_json("/api/v1/auth/wx-login", None, &json!({ "code": "CODE1" }))
        .await;
    assert_eq!(wx_login.status(), 200);
    assert_eq!(wx_login.headers()["cache-control"], "no-store");
}

/// Staff login from `address` (as a trusted proxy forwards it).
async fn staff_login_from(app: &TestApp, address: &str, password: &str) -> u16 {
    app.api
        .post(app.url("/admin/v1/login"))
        .header("x-forwarded-for", address)
        .json(&json!({ "username": "olivia", "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

const BEHIND_A_PROXY: [(&str, &str); 3] = [
    ("APP__APPLICATION__TRUSTED_PROXIES", "127.0.0.1"),
    ("APP__RATE_LIMIT__STAFF_LOGIN__LIMIT", "3"),
    ("APP__RATE_LIMIT__STAFF_LOGIN__WINDOW_SECS", "300"),
];

#[tokio::test]
async fn wrong_passwords_from_many_addresses_do_not_lock_a_staff_member_out() {
    let app = spawn_app_with(&BEHIND_A_PROXY).await;
    app.create_staff("olivia", Role::Operator).await;
    for i in 1..=9 {
        let status = staff_login_from(&app, &format!("198.51.100.{i}"), "wrong password!!").await;
        assert_eq!(status, 401, "attempt {i}");
    }
    assert_eq!(
        staff_login_from(&app, "203.0.113.7", STAFF_PASSWORD).await,
        200,
        "the right password from a fresh address still works"
    );
    // Successful logins spend nothing of the account's own budget.
    for i in 1..=12 {
        let status =
            staff_login_from(&app, &format!("203.0.113.{}", 100 + i), STAFF_PASSWORD).await;
        assert_eq!(status, 200, "login {i}");
    }
    // One address guessing is still stopped at its (username, address) budget.
    for _ in 0..3 {
        staff_login_from(&app, "198.51.100.200", "wrong password!!").await;
    }
    assert_eq!(
        staff_login_from(&app, "198.51.100.200", STAFF_PASSWORD).await,
        429
    );
}

#[tokio::test]
async fn a_slow_per_username_backstop_stops_new_addresses_but_not_known_ones() {
    let mut overrides = BEHIND_A_PROXY.to_vec();
    overrides.extend([
        ("APP__RATE_LIMIT__STAFF_LOGIN_FAILURES__LIMIT", "5"),
        ("APP__RATE_LIMIT__STAFF_LOGIN_FAILURES__WINDOW_SECS", "3600"),
    ]);
    let app = spawn_app_with(&overrides).await;
    app.create_staff("olivia", Role::Operator).await;
    let office = "203.0.113.10";
    assert_eq!(staff_login_from(&app, office, STAFF_PASSWORD).await, 200);
    for i in 1..=5 {
        let status = staff_login_from(&app, &format!("198.51.100.{i}"), "wrong password!!").await;
        assert_eq!(status, 401, "failure {i}");
    }
    assert_eq!(
        staff_login_from(&app, "203.0.113.99", STAFF_PASSWORD).await,
        429,
        "past the backstop a new address waits, whichever address failed"
    );
    assert_eq!(
        staff_login_from(&app, office, STAFF_PASSWORD).await,
        200,
        "the attacker filled the backstop, and the office still gets in"
    );
    assert_eq!(
        staff_login_from(&app, office, "wrong password!!").await,
        401,
        "a known address still spends its own (username, address) budget"
    );
}

#[tokio::test]
async fn a_valid_token_of_a_user_who_does_not_exist_is_refused_and_draws_nothing() {
    let app = spawn_app().await;
    let ghost = wxcampaign::auth::JwtKeys::new(&app.settings.auth)
        .issue_customer(424_242)
        .unwrap()
        .token;
    let me = app.get("/api/v1/me", Some(&ghost)).await;
    assert_eq!(me.status(), 401);
    assert_eq!(error_code(me).await, "invalid_token");
    let draw = app
        .api
        .post(app.url("/api/v1/campaigns/any-campaign/lottery/any-pool/draws"))
        .bearer_auth(&ghost)
        .header("idempotency-key", "ghost-draw-00001")
        .send()
        .await
        .unwrap();
    assert_eq!(draw.status(), 401);
    let quiz = app
        .api
        .post(app.url("/api/v1/campaigns/any-campaign/quiz/levels/1/attempts"))
        .bearer_auth(&ghost)
        .send()
        .await
        .unwrap();
    assert_eq!(quiz.status(), 401, "not a 500");
    assert_eq!(
        draw_records::Entity::find().count(&app.db).await.unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blocked_customer_is_refused_at_once_and_cannot_log_in_until_unblocked() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let token = app.customer_token("oBlockedUser00001").await;
    let user_id = app.customer_id("oBlockedUser00001").await;
    let audit_before = app.count_audit_entries().await;

    let block = |disabled: bool| {
        app.api
            .put(app.url(&format!("/admin/v1/users/{user_id}/disabled")))
            .bearer_auth(&operator)
            .json(&json!({ "disabled": disabled, "reason": "case 2026-1201" }))
            .send()
    };
    let blocked = block(true).await.unwrap();
    assert_eq!(blocked.status(), 200);
    assert_eq!(blocked.json::<Value>().await.unwrap()["disabled"], true);
    assert_eq!(app.count_audit_entries().await, audit_before + 1);

    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status(), 401);
    assert_eq!(error_code(me).await, "account_disabled");
    let login = app
        .post_json(
            "/api/v1/auth/dev-login",
            None,
            &json!({ "openid": "oBlockedUser00001" }),
        )
        .await;
    assert_eq!(login.status(), 401);
    assert_eq!(error_code(login).await, "account_disabled");

    assert_eq!(block(false).await.unwrap().status(), 200);
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);

    let auditor = app.staff_token("audrey", Role::Auditor).await;
    let refused = app
        .api
        .put(app.url(&format!("/admin/v1/users/{user_id}/disabled")))
        .bearer_auth(&auditor)
        .json(&json!({ "disabled": true, "reason": "not mine to decide" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn callbacks_with_malformed_openids_are_refused_and_record_nothing() {
    let sim = WeChatSim::start("plain", false).await;
    let long = "o".repeat(5000);
    for from in [
        long.as_str(),
        "o<script>x</script>",
        "oWith Spaces In It 00001",
        "",
    ] {
        let xml = format!(
            "<xml><ToUserName><![CDATA[gh_fixture00001]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>",
            now()
        );
        let response = sim.send_plain(&xml).await;
        assert_eq!(response.status(), 400, "{}", &from[..from.len().min(30)]);
        let code = error_code(response).await;
        assert!(
            code == "invalid_message",
            "{code} for {}",
            &from[..from.len().min(30)]
        );
    }
    assert_eq!(sim.count_inbox().await, 0);
    assert_eq!(sim.app.count_users().await, 0);
}

#[tokio::test]
async fn coupon_templates_valid_in_the_past_or_with_wrapping_limits_are_refused() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let audit_before = app.count_audit_entries().await;
    for (why, template) in [
        (
            "valid until 1970",
            json!({ "slug": "old", "name": "过期券", "value_fen": 100, "valid_until": "1970-01-02 00:00" }),
        ),
        (
            "a limit past 32 bits",
            json!({ "slug": "big", "name": "券", "value_fen": 100, "valid_days": 7, "per_user_limit": 4_294_967_295u32 }),
        ),
        (
            "a negative minimum spend",
            json!({ "slug": "neg", "name": "券", "value_fen": 100, "valid_days": 7, "min_spend_fen": -1 }),
        ),
    ] {
        let response = app
            .post_json("/admin/v1/coupon-templates", Some(&operator), &template)
            .await;
        assert_eq!(response.status(), 400, "{why}");
        assert_eq!(error_code(response).await, "invalid_coupon", "{why}");
    }
    assert_eq!(
        app.count_audit_entries().await,
        audit_before,
        "nothing was created"
    );
}

#[tokio::test]
async fn json_in_another_charset_is_refused_not_guessed() {
    let app = spawn_app().await;
    for content_type in [
        "application/json; charset=utf-16",
        "application/json; charset=latin1",
    ] {
        let response = app
            .api
            .post(app.url("/api/v1/auth/dev-login"))
            .header("content-type", content_type)
            .body(r#"{"openid":"oCharsetUser00001"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
        assert_eq!(error_code(response).await, "unsupported_media_type");
    }
    let utf8 = app
        .api
        .post(app.url("/api/v1/auth/dev-login"))
        .header("content-type", "application/json; charset=UTF-8")
        .body(r#"{"openid":"oCharsetUser00001"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(utf8.status(), 200);
    assert_eq!(app.count_users().await, 1);
}

#[tokio::test]
async fn junk_callbacks_past_the_refusal_budget_get_429_while_wechat_is_never_throttled() {
    let sim = WeChatSim::start_with(
        "plain",
        false,
        &[
            ("APP__RATE_LIMIT__CALLBACK_REFUSALS_PER_IP__LIMIT", "5"),
            (
                "APP__RATE_LIMIT__CALLBACK_REFUSALS_PER_IP__WINDOW_SECS",
                "60",
            ),
        ],
    )
    .await;
    let junk = "signature=0000&timestamp=1&nonce=x";
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(sim.post(junk, "<xml/>").await.status().as_u16());
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429, 429, 429]);
    // Past the budget, junk is refused before its body is read: not even its size is looked at.
    let oversized = "x".repeat(200_000);
    let refused = sim.post(junk, oversized).await;
    assert_eq!(refused.status(), 429);
    // WeChat's valid messages from the same address go through: they never spend the refusal budget.
    for i in 0..10 {
        let xml = format!(
            "<xml><ToUserName><![CDATA[gh_fixture00001]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>{i}</MsgId></xml>",
            now()
        );
        assert_eq!(sim.send_plain(&xml).await.status(), 200, "message {i}");
    }
}

/// Another instance trusts a customer it has just seen active for at most `ACTIVE_STANDING_TTL` (so a playing
/// customer's requests skip a database read); after that a block made elsewhere refuses there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_block_reaches_every_instance_within_the_standing_ttl() {
    let app = spawn_app().await;
    let other = app.second_instance().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let token = app.customer_token("oBlockedUser00002").await;
    let user_id = app.customer_id("oBlockedUser00002").await;
    assert_eq!(other.get("/api/v1/me", Some(&token)).await.status(), 200);

    let blocked = app
        .api
        .put(app.url(&format!("/admin/v1/users/{user_id}/disabled")))
        .bearer_auth(&operator)
        .json(&json!({ "disabled": true, "reason": "case 2026-1202" }))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 200);
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 401);
    tokio::time::sleep(
        wxcampaign::auth::ACTIVE_STANDING_TTL + std::time::Duration::from_millis(100),
    )
    .await;
    let me = other.get("/api/v1/me", Some(&token)).await;
    assert_eq!(error_code(me).await, "account_disabled");
}
