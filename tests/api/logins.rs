use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};
use wxcampaign::users::phone::PhoneCipher;

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp};

const SESSION: &str = "/sns/jscode2session";
const MINI_APP_ID: &str = "wx1111111111111111";
const OA_APP_ID: &str = "wx0000000000000000";

async fn wx_login(app: &TestApp, code: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/wx-login", None, &json!({ "code": code }))
        .await
}

#[tokio::test]
async fn mini_program_login_creates_the_user_and_keeps_the_session_key_server_side() {
    let app = spawn_app().await;
    app.wechat
        .answers("GET", SESSION, json!({ "openid": "oMiniUser000001", "session_key": "SeCrEtKeY==", "unionid": "uUnion000001" }))
        .await;
    let response = wx_login(&app, "0a3xyzCODE").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("SeCrEtKeY"),
        "the session_key never leaves the server"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    let token = body["token"]["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", Some(token)).await.status(), 200);

    let sent = &app.wechat.requests(SESSION).await[0];
    let query = sent.url.query().unwrap();
    assert!(
        query.contains("js_code=0a3xyzCODE")
            && query.contains("grant_type=authorization_code")
            && query.contains(MINI_APP_ID)
    );
    let user_id = body["user"]["id"].as_i64().unwrap();
    let kept = app
        .store
        .credential(&format!("mp_session_key:{user_id}"))
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("SeCrEtKeY=="));

    // Logging in again finds the same person.
    wx_login(&app, "0a3xyzCODE2").await;
    assert_eq!(app.count_users().await, 1);
}

#[tokio::test]
async fn an_invalid_or_reused_code_is_400_and_creates_nobody() {
    for errcode in [40029, 40163] {
        let app = spawn_app().await;
        app.wechat
            .answers(
                "GET",
                SESSION,
                json!({ "errcode": errcode, "errmsg": "invalid code" }),
            )
            .await;
        let response = wx_login(&app, "usedCODE").await;
        assert_eq!(response.status(), 400);
        assert_eq!(error_code(response).await, "invalid_code");
        assert_eq!(app.count_users().await, 0);
    }
    let app = spawn_app().await;
    let empty = wx_login(&app, "").await;
    assert_eq!(empty.status(), 400);
    assert_eq!(
        app.wechat.calls(SESSION).await,
        0,
        "a malformed code is not sent to WeChat"
    );
}

#[tokio::test]
async fn wechat_down_or_slow_gives_a_stable_code_within_the_timeout() {
    let slow = spawn_app_with(&[("APP__WECHAT__REQUEST_TIMEOUT_SECS", "1")]).await;
    Mock::given(method("GET"))
        .and(path(SESSION))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(std::time::Duration::from_secs(5))
                .set_body_json(json!({})),
        )
        .mount(&slow.wechat.server)
        .await;
    let response = wx_login(&slow, "slowCODE").await;
    assert_eq!(response.status(), 504);
    assert_eq!(error_code(response).await, "wechat_timeout");

    let down = spawn_app_with(&[("APP__WECHAT__API_BASE_URL", "http://127.0.0.1:9")]).await;
    let response = wx_login(&down, "anyCODE").await;
    assert_eq!(response.status(), 502);
    assert_eq!(error_code(response).await, "wechat_unavailable");
    assert_eq!(down.count_users().await, 0);
}

async fn logged_in(app: &TestApp) -> String {
    app.wechat
        .answers(
            "GET",
            SESSION,
            json!({ "openid": "oMiniUser000001", "session_key": "k" }),
        )
        .await;
    let body: Value = wx_login(app, "CODE1").await.json().await.unwrap();
    body["token"]["token"].as_str().unwrap().to_owned()
}

/// WeChat answers the phone code with 13812345678, watermarked for `appid`.
async fn wechat_knows_phone_for(app: &TestApp, appid: &str) {
    app.wechat.issues_token("MINI_TOKEN").await;
    let phone_info = json!({ "phoneNumber": "13812345678", "purePhoneNumber": "13812345678", "countryCode": "86",
                             "watermark": { "timestamp": 1700000000, "appid": appid } });
    let answer = json!({ "errcode": 0, "errmsg": "ok", "phone_info": phone_info });
    app.wechat
        .answers("POST", "/wxa/business/getuserphonenumber", answer)
        .await;
}

#[tokio::test]
async fn a_phone_number_is_stored_encrypted_and_shown_masked() {
    let app = spawn_app().await;
    let token = logged_in(&app).await;
    wechat_knows_phone_for(&app, MINI_APP_ID).await;
    let response = app
        .post_json(
            "/api/v1/me/phone",
            Some(&token),
            &json!({ "code": "phoneCODE" }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["phone"], "138****5678");
    assert_eq!(app.count_events("phone_bound").await, 1);

    use sea_orm::EntityTrait;
    let user = wxcampaign::entities::users::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let stored = user.phone_encrypted.unwrap();
    assert!(!stored.contains("13812345678"));
    assert_eq!(
        PhoneCipher::new(&app.settings.auth.phone_encryption_secret)
            .decrypt(&stored)
            .unwrap(),
        "13812345678"
    );
}

#[tokio::test]
async fn a_phone_watermark_for_another_app_is_rejected_and_nothing_stored() {
    let app = spawn_app().await;
    let token = logged_in(&app).await;
    wechat_knows_phone_for(&app, "wxSOMEONEELSE").await;
    let response = app
        .post_json(
            "/api/v1/me/phone",
            Some(&token),
            &json!({ "code": "phoneCODE" }),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "watermark_mismatch");
    use sea_orm::EntityTrait;
    let user = wxcampaign::entities::users::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(user.phone_encrypted.is_none() && user.phone_masked.is_none());
}

/// Follows `/h5/auth/start` and returns WeChat's authorize URL.
pub async fn start_oauth(app: &TestApp, query: &str) -> reqwest::Response {
    app.api
        .get(app.url(&format!("/h5/auth/start?{query}")))
        .send()
        .await
        .unwrap()
}

pub fn state_of(location: &str) -> String {
    let query = location
        .split('?')
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap();
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned()
}

/// The whole `Set-Cookie` line of cookie `name` in `response`.
fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
}

/// The `wxc_oauth=...` pair that `/h5/auth/start` set on the browser.
pub fn login_cookie(start: &reqwest::Response) -> String {
    set_cookie(start, "wxc_oauth")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A login started in one browser: its state (for WeChat's redirect) and its login cookie.
pub async fn started_login(app: &TestApp, query: &str) -> (String, String) {
    let start = start_oauth(app, query).await;
    assert_eq!(start.status(), 302);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    (state_of(&location), login_cookie(&start))
}

/// WeChat's redirect back to the callback, in a browser holding `cookie` (or none).
pub async fn finish_oauth_in(
    app: &TestApp,
    code: &str,
    state: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", code)
        .append_pair("state", state)
        .finish();
    let mut request = app.api.get(app.url(&format!("/h5/auth/callback?{query}")));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn h5_oauth_logs_in_links_by_unionid_and_sets_a_session_cookie() {
    let app = spawn_app().await;
    let start = start_oauth(&app, "next=/h5/q4/lottery%3Ftab%3D1&scope=userinfo").await;
    assert_eq!(start.status(), 302);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let cookie = login_cookie(&start);
    let redirect_uri = format!("{}/h5/auth/callback", app.settings.application.base_url);
    let expected_prefix = format!(
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid={OA_APP_ID}&redirect_uri={}&response_type=code&scope=snsapi_userinfo&state=",
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>()
    );
    assert!(location.starts_with(&expected_prefix), "{location}");
    assert!(location.ends_with("#wechat_redirect"));
    let state = state_of(&location);
    assert!(state.len() <= 128);

    app.wechat.answers("GET", "/sns/oauth2/access_token", json!({
        "access_token": "USER_AT", "expires_in": 7200, "refresh_token": "R", "openid": "oOfficial000001", "scope": "snsapi_userinfo" })).await;
    app.wechat
        .answers(
            "GET",
            "/sns/userinfo",
            json!({ "openid": "oOfficial000001", "nickname": "张三", "unionid": "uUnion000001" }),
        )
        .await;
    // The same person already logged in through the mini-program with the same unionid.
    app.wechat
        .answers(
            "GET",
            SESSION,
            json!({ "openid": "oMiniUser000001", "session_key": "k", "unionid": "uUnion000001" }),
        )
        .await;
    wx_login(&app, "CODE1").await;

    let finish = finish_oauth_in(&app, "oauthCODE", &state, Some(&cookie)).await;
    assert_eq!(finish.status(), 302);
    assert_eq!(finish.headers()["location"], "/h5/q4/lottery?tab=1");
    let session_cookie = set_cookie(&finish, "wxc_session");
    assert!(
        session_cookie.starts_with("wxc_session=")
            && session_cookie.contains("HttpOnly")
            && session_cookie.contains("SameSite=Lax"),
        "{session_cookie}"
    );
    assert_eq!(
        app.count_users().await,
        1,
        "linked to the mini-program user by unionid"
    );
    let userinfo = &app.wechat.requests("/sns/userinfo").await[0];
    assert!(userinfo
        .url
        .query()
        .unwrap()
        .contains("access_token=USER_AT"));

    let session = session_cookie.split(';').next().unwrap();
    let me = app
        .api
        .get(app.url("/api/v1/me"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the cookie is a session");

    // The state was single-use, even in the browser that started it.
    let replay = finish_oauth_in(&app, "oauthCODE", &state, Some(&cookie)).await;
    assert_eq!(replay.status(), 400);
    assert!(replay.headers().get("set-cookie").is_none());
    assert_eq!(error_code(replay).await, "invalid_state");
}

#[tokio::test]
async fn forged_states_and_off_site_next_are_refused_with_no_session() {
    let app = spawn_app().await;
    for next in [
        "https://evil.example/x",
        "//evil.example/x",
        "/\\evil.example",
        "/h5/a b",
    ] {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        let response = start_oauth(&app, &query).await;
        assert_eq!(response.status(), 400, "{next}");
        assert_eq!(error_code(response).await, "invalid_next", "{next}");
    }
    let (state, cookie) = started_login(&app, "next=/h5/q4").await;
    let (id, tag) = state.split_once('.').unwrap();
    let forged_tag = format!(
        "{id}.{}",
        if tag.starts_with('A') {
            tag.replacen('A', "B", 1)
        } else {
            format!("A{}", &tag[1..])
        }
    );
    let other_id = format!("AAAAAAAAAAAAAAAAAAAAAA.{tag}");
    for forged in [forged_tag.as_str(), other_id.as_str(), "no-dot", "a.b"] {
        let response = finish_oauth_in(&app, "oauthCODE", forged, Some(&cookie)).await;
        assert_eq!(response.status(), 400, "{forged}");
        assert!(response.headers().get("set-cookie").is_none());
        assert_eq!(error_code(response).await, "invalid_state");
    }
    assert_eq!(
        app.wechat.calls("/sns/oauth2/access_token").await,
        0,
        "nothing forged reaches WeChat"
    );
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn an_invalid_oauth_code_is_refused_with_no_user_and_no_cookie() {
    let app = spawn_app().await;
    let (state, cookie) = started_login(&app, "next=/h5/q4").await;
    app.wechat
        .answers(
            "GET",
            "/sns/oauth2/access_token",
            json!({ "errcode": 40029, "errmsg": "invalid code" }),
        )
        .await;
    let response = finish_oauth_in(&app, "badCODE", &state, Some(&cookie)).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(error_code(response).await, "invalid_code");
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn jssdk_config_signs_the_page_url_without_its_fragment() {
    let app = spawn_app().await;
    app.wechat.issues_token("OA_TOKEN").await;
    app.wechat
        .answers(
            "GET",
            "/cgi-bin/ticket/getticket",
            json!({ "errcode": 0, "errmsg": "ok", "ticket": "TICKET_1", "expires_in": 7200 }),
        )
        .await;
    let page = "http://127.0.0.1/h5/poster?from=share&id=7";
    let url: String =
        url::form_urlencoded::byte_serialize(format!("{page}#section").as_bytes()).collect();
    let response = app
        .get(&format!("/api/v1/jssdk/config?url={url}"), None)
        .await;
    assert_eq!(response.status(), 200);
    let config: Value = response.json().await.unwrap();
    assert_eq!(config["appId"], OA_APP_ID);
    let plain = format!(
        "jsapi_ticket=TICKET_1&noncestr={}&timestamp={}&url={page}",
        config["nonceStr"].as_str().unwrap(),
        config["timestamp"]
    );
    assert_eq!(
        config["signature"].as_str().unwrap(),
        hex::encode(Sha1::digest(plain.as_bytes()))
    );

    // The ticket is cached like the token.
    app.get(&format!("/api/v1/jssdk/config?url={url}"), None)
        .await;
    assert_eq!(app.wechat.calls("/cgi-bin/ticket/getticket").await, 1);
    assert!(app.wechat.requests("/cgi-bin/ticket/getticket").await[0]
        .url
        .query()
        .unwrap()
        .contains("type=jsapi"));

    let other = app
        .get(
            "/api/v1/jssdk/config?url=https%3A%2F%2Fevil.example%2Fh5",
            None,
        )
        .await;
    assert_eq!(other.status(), 400);
    assert_eq!(error_code(other).await, "invalid_url");
}

/// WeChat answers any OAuth code with the official-account user `openid`.
async fn wechat_exchanges_codes_for(app: &TestApp, openid: &str) {
    app.wechat
        .answers(
            "GET",
            "/sns/oauth2/access_token",
            json!({ "access_token": "USER_AT", "expires_in": 7200, "openid": openid, "scope": "snsapi_base" }),
        )
        .await;
}

#[tokio::test]
async fn a_callback_link_opened_in_another_browser_logs_nobody_in() {
    let app = spawn_app().await;
    wechat_exchanges_codes_for(&app, "oAttacker00000001").await;
    // The attacker starts a login and captures the callback link WeChat sends them back to.
    let (attacker_state, attacker_cookie) = started_login(&app, "next=/h5/q4").await;
    // The victim opens it: with no login cookie, or with the cookie of a login of their own.
    let (_, victim_cookie) = started_login(&app, "next=/h5/q1").await;
    for cookie in [None, Some(victim_cookie.as_str())] {
        let response = finish_oauth_in(&app, "attackerCODE", &attacker_state, cookie).await;
        assert_eq!(response.status(), 400, "{cookie:?}");
        assert!(response.headers().get("set-cookie").is_none());
        assert_eq!(error_code(response).await, "invalid_state");
    }
    // A cookie from another deployment (or edited by hand) is refused too.
    let edited = attacker_cookie.replacen("wxc_oauth=", "wxc_oauth=x", 1);
    let response = finish_oauth_in(&app, "attackerCODE", &attacker_state, Some(&edited)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        app.wechat.calls("/sns/oauth2/access_token").await,
        0,
        "no refused callback spends the code"
    );
    assert_eq!(app.count_users().await, 0);

    // In the browser that started it, the same link still works: the refusals did not burn it.
    let own = finish_oauth_in(
        &app,
        "attackerCODE",
        &attacker_state,
        Some(&attacker_cookie),
    )
    .await;
    assert_eq!(own.status(), 302);
    assert_eq!(own.headers()["location"], "/h5/q4");
    assert_eq!(own.headers()["cache-control"], "no-store");
    let cookies: Vec<&str> = own
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("wxc_oauth=;") && c.contains("Max-Age=0")),
        "the spent login cookie is cleared: {cookies:?}"
    );
}

#[tokio::test]
async fn the_login_cookie_is_scoped_and_expires_with_the_state() {
    let app = spawn_app().await;
    wechat_exchanges_codes_for(&app, "oLateUser00000001").await;
    let start = start_oauth(&app, "next=/h5/q4").await;
    let set_cookie = start
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("wxc_oauth="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/h5/auth", "Max-Age=600"] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
    assert!(
        set_cookie.len() < 1024,
        "the cookie stays small: {set_cookie}"
    );
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let cookie = login_cookie(&start);

    app.clock.advance(chrono::Duration::minutes(11));
    let late = finish_oauth_in(&app, "lateCODE", &state_of(&location), Some(&cookie)).await;
    assert_eq!(late.status(), 400);
    assert_eq!(error_code(late).await, "invalid_state");
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn starting_a_login_stores_nothing_so_any_instance_finishes_it_even_after_a_flush() {
    let app = spawn_app().await;
    wechat_exchanges_codes_for(&app, "oAnyInstance00001").await;
    let (state, cookie) = started_login(&app, "next=/h5/q3").await;
    // Another instance whose store has never seen this login (as after a Redis flush or failover).
    let other = app.instance_with_empty_store().await;
    let finish = finish_oauth_in(&other, "anyCODE", &state, Some(&cookie)).await;
    assert_eq!(finish.status(), 302);
    assert_eq!(finish.headers()["location"], "/h5/q3");
    assert_eq!(app.count_users().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn h5_login_starts_are_limited_per_address() {
    let app = spawn_app_with(&[
        ("APP__RATE_LIMIT__H5_PER_IP__LIMIT", "3"),
        ("APP__RATE_LIMIT__H5_PER_IP__WINDOW_SECS", "60"),
    ])
    .await;
    let statuses: Vec<u16> =
        futures::future::join_all((0..12).map(|_| start_oauth(&app, "next=/h5/q4")))
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 302).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        9,
        "{statuses:?}"
    );
    let callback = finish_oauth_in(&app, "code", "a.b", None).await;
    assert_eq!(
        callback.status(),
        429,
        "the callback shares the address's budget"
    );
}

#[tokio::test]
async fn behind_a_path_prefix_the_login_cookie_follows_the_public_path() {
    let app = spawn_app_with(&[(
        "APP__APPLICATION__BASE_URL",
        "https://bank.example/campaign/",
    )])
    .await;
    let start = start_oauth(&app, "next=/h5/q4").await;
    let line = set_cookie(&start, "wxc_oauth");
    assert!(line.contains("Path=/campaign/h5/auth"), "{line}");
    let location = start.headers()["location"].to_str().unwrap();
    assert!(
        location
            .contains("redirect_uri=https%3A%2F%2Fbank.example%2Fcampaign%2Fh5%2Fauth%2Fcallback"),
        "{location}"
    );
}
