use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use wxcampaign::auth::Role;

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp};

#[tokio::test]
async fn dev_login_creates_the_user_once_and_me_shows_the_profile() {
    let app = spawn_app().await;
    let first = app.customer_token("oDevUser0001").await;
    let again = app.customer_token("oDevUser0001").await;
    assert_eq!(app.count_users().await, 1);

    for token in [&first, &again] {
        let response = app.get("/api/v1/me", Some(token)).await;
        assert_eq!(response.status(), 200);
        let profile: Value = response.json().await.unwrap();
        assert_eq!(profile["follows_official_account"], false);
        assert!(
            profile.get("mp_openid").is_none(),
            "openids never leave the server"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_logins_create_one_user() {
    let app = spawn_app().await;
    let logins = (0..20).map(|_| app.customer_token("oRacingUser01"));
    futures::future::join_all(logins).await;
    assert_eq!(app.count_users().await, 1);
}

#[tokio::test]
async fn dev_login_does_not_exist_when_disabled() {
    let app = spawn_app_with(&[("APP__AUTH__DEV_LOGIN", "false")]).await;
    let response = app
        .post_json(
            "/api/v1/auth/dev-login",
            None,
            &json!({ "openid": "oDevUser0001" }),
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn a_bad_openid_is_refused_with_no_user_created() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/dev-login",
            None,
            &json!({ "openid": "x'; drop table users;--" }),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "invalid_openid");
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn customer_routes_need_a_token() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/me", None).await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "missing_token");
}

fn sign(app: &TestApp, claims: &Value, secret: &[u8]) -> String {
    let _ = app;
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn claims(app: &TestApp, overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": "1", "kind": "customer", "iss": app.settings.auth.issuer, "aud": app.settings.auth.audience,
        "iat": now, "exp": now + 600, "jti": "t1",
    });
    for (key, value) in overrides.as_object().unwrap() {
        claims[key] = value.clone();
    }
    claims
}

#[tokio::test]
async fn forged_expired_wrong_audience_and_unsigned_tokens_get_401_invalid_token() {
    let app = spawn_app().await;
    app.customer_token("oDevUser0001").await;
    let secret = app
        .settings
        .auth
        .jwt_secret
        .expose_secret()
        .as_bytes()
        .to_vec();
    let now = chrono::Utc::now().timestamp();

    let valid = sign(&app, &claims(&app, json!({})), &secret);
    assert_eq!(
        app.get("/api/v1/me", Some(&valid)).await.status(),
        200,
        "the control token works"
    );

    let forged = sign(
        &app,
        &claims(&app, json!({})),
        b"someone-elses-secret-0123456789abcdef",
    );
    // Past the configured 30 s of leeway.
    let expired = sign(&app, &claims(&app, json!({ "exp": now - 120 })), &secret);
    let wrong_audience = sign(
        &app,
        &claims(&app, json!({ "aud": "another-app" })),
        &secret,
    );
    let wrong_issuer = sign(&app, &claims(&app, json!({ "iss": "mallory" })), &secret);
    let no_exp = {
        let mut c = claims(&app, json!({}));
        c.as_object_mut().unwrap().remove("exp");
        sign(&app, &c, &secret)
    };
    // `alg: none`: a header and payload with an empty signature.
    let unsigned = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = b64.encode(claims(&app, json!({})).to_string());
        format!("{header}.{payload}.")
    };
    let tampered = {
        let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        parts[1] = b64.encode(claims(&app, json!({ "sub": "2" })).to_string());
        parts.join(".")
    };

    for (name, token) in [
        ("forged", forged),
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("wrong issuer", wrong_issuer),
        ("no exp", no_exp),
        ("alg none", unsigned),
        ("tampered payload", tampered),
        ("garbage", "not.a.token".to_owned()),
    ] {
        let response = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_eq!(error_code(response).await, "invalid_token", "{name}");
    }
}

#[tokio::test]
async fn a_staff_token_is_refused_on_customer_routes_and_the_reverse() {
    let app = spawn_app().await;
    let customer = app.customer_token("oDevUser0001").await;
    let operator = app.staff_token("olivia", Role::Operator).await;

    let response = app.get("/api/v1/me", Some(&operator)).await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "forbidden");

    let response = app.get("/admin/v1/staff", Some(&customer)).await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "forbidden");
}
