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
async fn start_oauth(app: &TestApp, query: &str) -> reqwest::Response {
    app.api
        .get(app.url(&format!("/h5/auth/start?{query}")))
        .send()
        .await
        .unwrap()
}

fn state_of(location: &str) -> String {
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

async fn finish_oauth(app: &TestApp, code: &str, state: &str) -> reqwest::Response {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", code)
        .append_pair("state", state)
        .finish();
    app.api
        .get(app.url(&format!("/h5/auth/callback?{query}")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn h5_oauth_logs_in_links_by_unionid_and_sets_a_session_cookie() {
    let app = spawn_app().await;
    let start = start_oauth(&app, "next=/h5/q4/lottery%3Ftab%3D1&scope=userinfo").await;
    assert_eq!(start.status(), 302);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
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

    let finish = finish_oauth(&app, "oauthCODE", &state).await;
    assert_eq!(finish.status(), 302);
    assert_eq!(finish.headers()["location"], "/h5/q4/lottery?tab=1");
    let cookie = finish.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("wxc_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
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

    let session = cookie.split(';').next().unwrap();
    let me = app
        .api
        .get(app.url("/api/v1/me"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the cookie is a session");

    // The state was single-use.
    let replay = finish_oauth(&app, "oauthCODE", &state).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(error_code(replay).await, "invalid_state");
    assert!(replay_has_no_cookie(&app, &state).await);
}

async fn replay_has_no_cookie(app: &TestApp, state: &str) -> bool {
    finish_oauth(app, "x", state)
        .await
        .headers()
        .get("set-cookie")
        .is_none()
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
    let location = start_oauth(&app, "next=/h5/q4").await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let state = state_of(&location);
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
        let response = finish_oauth(&app, "oauthCODE", forged).await;
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
    let location = start_oauth(&app, "next=/h5/q4").await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    app.wechat
        .answers(
            "GET",
            "/sns/oauth2/access_token",
            json!({ "errcode": 40029, "errmsg": "invalid code" }),
        )
        .await;
    let response = finish_oauth(&app, "badCODE", &state_of(&location)).await;
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
