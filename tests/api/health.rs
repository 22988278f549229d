use serde_json::Value;

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn healthz_and_readyz_answer_200_when_database_and_store_are_up() {
    let app = spawn_app().await;

    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), 200);

    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["store"], "ok");
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = spawn_app().await;
    app.get("/healthz", None).await;
    app.get("/api/v1/me", None).await;

    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status(), 200);
    assert!(metrics
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            r#"wxcampaign_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/me",status="401""#),
        "{text}"
    );
    assert!(
        text.contains("wxcampaign_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;

    let given = app
        .api
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "abc-123");

    let hostile = app
        .api
        .get(app.url("/healthz"))
        .header("x-request-id", "<script>")
        .send()
        .await
        .unwrap();
    let generated = hostile.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(generated, "<script>");
    assert_eq!(generated.len(), 36, "a fresh UUID replaces an unsafe id");
}

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/no-such-thing", None).await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(response).await, "not_found");
}
