use serde_json::Value;

use crate::helpers::{error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn oversized_bodies_get_413_and_change_nothing() {
    let app = spawn_app_with(&[("APP__APPLICATION__JSON_BODY_LIMIT", "2048")]).await;
    let huge = format!(r#"{{"openid":"{}"}}"#, "a".repeat(4096));
    let response = app
        .api
        .post(app.url("/api/v1/auth/dev-login"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "payload_too_large");
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn malformed_json_gets_400_and_changes_nothing() {
    let app = spawn_app().await;
    let response = app
        .api
        .post(app.url("/api/v1/auth/dev-login"))
        .header("content-type", "application/json")
        .body(r#"{"openid": "#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "malformed_json");
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn a_missing_or_mistyped_field_is_named_in_the_400() {
    let app = spawn_app().await;
    for (body, field) in [
        (r#"{}"#, "openid"),
        (r#"{"openid": 42}"#, "openid"),
        (r#"{"openid": "oUser0001", "admin": true}"#, "admin"),
    ] {
        let response = app
            .api
            .post(app.url("/api/v1/auth/dev-login"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "invalid_field", "{body}");
        assert_eq!(error["field"], field, "{body}");
    }
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn a_body_that_is_not_json_gets_415() {
    let app = spawn_app().await;
    let response = app
        .api
        .post(app.url("/api/v1/auth/dev-login"))
        .header("content-type", "text/plain")
        .body("openid=oUser0001")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(error_code(response).await, "unsupported_media_type");
    assert_eq!(app.count_users().await, 0);
}
