use serde_json::{json, Value};
use wxcampaign::auth::Role;

use crate::helpers::{error_code, spawn_app, spawn_app_with, STAFF_PASSWORD};

#[tokio::test]
async fn staff_log_in_with_their_password_and_not_without() {
    let app = spawn_app().await;
    app.create_staff("olivia", Role::Operator).await;

    let ok = app.staff_login("olivia", STAFF_PASSWORD).await;
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["staff"]["role"], "operator");
    assert!(body["staff"].get("password_hash").is_none());

    for (username, password) in [("olivia", "wrong password!!"), ("nobody", STAFF_PASSWORD)] {
        let refused = app.staff_login(username, password).await;
        assert_eq!(refused.status(), 401, "{username}");
        assert_eq!(error_code(refused).await, "invalid_credentials");
    }
}

#[tokio::test]
async fn password_guessing_is_rate_limited_with_retry_after() {
    let app = spawn_app_with(&[
        ("APP__RATE_LIMIT__STAFF_LOGIN__LIMIT", "3"),
        ("APP__RATE_LIMIT__STAFF_LOGIN__WINDOW_SECS", "60"),
    ])
    .await;
    app.create_staff("olivia", Role::Operator).await;
    for _ in 0..3 {
        assert_eq!(
            app.staff_login("olivia", "wrong password!!").await.status(),
            401
        );
    }
    // Even the right password waits now: the limiter runs before the password is checked.
    let limited = app.staff_login("olivia", STAFF_PASSWORD).await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(limited).await, "rate_limited");
}

#[tokio::test]
async fn an_admin_creates_staff_and_the_audit_log_records_actor_and_after() {
    let app = spawn_app().await;
    let admin = app.staff_token("ada", Role::Admin).await;
    let before = app.count_audit_entries().await;

    let created = app
        .post_json(
            "/admin/v1/staff",
            Some(&admin),
            &json!({ "username": "carl", "role": "community_manager", "password": "a long enough password" }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["role"], "community_manager");
    assert_eq!(app.count_audit_entries().await, before + 1);

    let auditor = app.staff_token("audrey", Role::Auditor).await;
    let entries: Value = app
        .get("/admin/v1/audit?target_type=staff_account", Some(&auditor))
        .await
        .json()
        .await
        .unwrap();
    let entry = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["after"]["username"] == "carl")
        .expect("the creation is audited");
    assert_eq!(entry["actor"], "ada");
    assert_eq!(entry["action"], "staff.create");
    assert_eq!(entry["target_id"], created["id"].to_string());
    assert!(entry["request_id"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
    assert!(entry["after"].get("password_hash").is_none());
}

#[tokio::test]
async fn staff_without_the_role_are_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let before = app.count_audit_entries().await;

    let response = app
        .post_json(
            "/admin/v1/staff",
            Some(&operator),
            &json!({ "username": "mallory", "role": "admin", "password": "a long enough password" }),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "forbidden");
    assert_eq!(app.count_audit_entries().await, before);
    assert_eq!(
        app.staff_login("mallory", "a long enough password")
            .await
            .status(),
        401
    );

    let response = app.get("/admin/v1/audit", Some(&operator)).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_duplicate_username_or_weak_password_is_refused() {
    let app = spawn_app().await;
    let admin = app.staff_token("ada", Role::Admin).await;
    let before = app.count_audit_entries().await;

    let taken = app
        .post_json(
            "/admin/v1/staff",
            Some(&admin),
            &json!({ "username": "ada", "role": "operator", "password": "a long enough password" }),
        )
        .await;
    assert_eq!(taken.status(), 409);
    assert_eq!(error_code(taken).await, "username_taken");

    let weak = app
        .post_json(
            "/admin/v1/staff",
            Some(&admin),
            &json!({ "username": "bob", "role": "operator", "password": "short" }),
        )
        .await;
    assert_eq!(weak.status(), 400);
    assert_eq!(error_code(weak).await, "invalid_input");

    let bad_role = app
        .post_json(
            "/admin/v1/staff",
            Some(&admin),
            &json!({ "username": "bob", "role": "superuser", "password": "a long enough password" }),
        )
        .await;
    assert_eq!(bad_role.status(), 400);
    assert_eq!(error_code(bad_role).await, "invalid_field");
    assert_eq!(app.count_audit_entries().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disabled_account_loses_access_at_once() {
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    use wxcampaign::entities::staff_accounts;

    let app = spawn_app().await;
    let admin = app.staff_token("ada", Role::Admin).await;
    assert_eq!(app.get("/admin/v1/staff", Some(&admin)).await.status(), 200);

    let account = staff_accounts::Entity::find()
        .filter(staff_accounts::Column::Username.eq("ada"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut account: staff_accounts::ActiveModel = account.into();
    account.disabled = Set(true);
    account.update(&app.db).await.unwrap();

    let response = app.get("/admin/v1/staff", Some(&admin)).await;
    assert_eq!(
        response.status(),
        401,
        "the unexpired token no longer works"
    );
}
