//! One gate for every customer action: the campaign live by the clock, the activity's own window open, and no
//! pause, whether the store or only the database knows of it.

use serde_json::json;
use wxcampaign::auth::Role;

use crate::helpers::{error_code, spawn_app, TestApp};

const Q4: &str = "q4-2026-thanks";
const YEAR_END_POOL: &str = "year-end-2026";

/// Every grant action a customer has on the demo Q4 campaign, with the code each answers once past the gate.
async fn grant_actions(
    app: &TestApp,
    token: &str,
    round: &str,
) -> Vec<(&'static str, u16, String)> {
    let mut answers = Vec::new();
    let draw = app
        .draw(token, Q4, YEAR_END_POOL, &format!("gate-draw-{round}"))
        .await;
    answers.push(("draw", draw.status().as_u16(), body_code(draw).await));
    let chances = app
        .api
        .post(app.url(&format!(
            "/api/v1/campaigns/{Q4}/lottery/{YEAR_END_POOL}/chances"
        )))
        .bearer_auth(token)
        .header("idempotency-key", format!("gate-chances-{round}"))
        .json(&json!({ "count": 1 }))
        .send()
        .await
        .unwrap();
    answers.push((
        "chances",
        chances.status().as_u16(),
        body_code(chances).await,
    ));
    let redeem = app
        .api
        .post(app.url("/api/v1/points/redeem"))
        .bearer_auth(token)
        .header("idempotency-key", format!("gate-redeem-{round}"))
        .json(&json!({ "campaign": Q4, "item": "calendar-2027" }))
        .send()
        .await
        .unwrap();
    answers.push(("redeem", redeem.status().as_u16(), body_code(redeem).await));
    let quiz = app
        .post_json(
            &format!("/api/v1/campaigns/{Q4}/quiz/levels/1/attempts"),
            Some(token),
            &json!({}),
        )
        .await;
    answers.push(("quiz", quiz.status().as_u16(), body_code(quiz).await));
    answers
}

async fn body_code(response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    body["code"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn the_december_lottery_refuses_draws_in_november_as_activity_not_live() {
    let app = spawn_app().await;
    app.demo_year_at("2026-11-15 12:00").await;
    let token = app.customer_token("oGateNovember0001").await;
    let early = app.draw(&token, Q4, YEAR_END_POOL, "gate-november-1").await;
    assert_eq!(early.status(), 409);
    assert_eq!(error_code(early).await, "activity_not_live");

    app.demo_year_at("2026-12-15 12:00").await;
    let december = app.draw(&token, Q4, YEAR_END_POOL, "gate-december-1").await;
    assert_eq!(december.status(), 200, "the activity's own window is open");

    app.demo_year_at("2027-01-02 12:00").await;
    let late = app.draw(&token, Q4, YEAR_END_POOL, "gate-january-1").await;
    assert_eq!(error_code(late).await, "campaign_not_live");
}

#[tokio::test]
async fn a_pause_seen_by_the_store_or_by_the_database_alone_refuses_every_grant_action() {
    let app = spawn_app().await;
    app.demo_year_at("2026-12-15 12:00").await;
    let token = app.customer_token("oGatePaused000001").await;

    let open = grant_actions(&app, &token, "open").await;
    assert!(
        open.iter().all(|(_, _, code)| code != "campaign_paused"),
        "{open:?}"
    );
    assert_eq!(open[0].1, 200, "the draw goes through: {open:?}");

    // The store alone says paused (the switch lands there first, on every instance).
    app.store.set_paused(Q4, true).await.unwrap();
    for (action, status, code) in grant_actions(&app, &token, "store").await {
        assert_eq!(
            (status, code.as_str()),
            (409, "campaign_paused"),
            "{action}"
        );
    }
    app.store.set_paused(Q4, false).await.unwrap();

    // The database alone says paused: the switch was thrown, then the store was flushed.
    let operator = app.staff_token("olivia", Role::Operator).await;
    let paused = app
        .post_json(
            &format!("/admin/v1/campaigns/{Q4}/pause"),
            Some(&operator),
            &json!({ "reason": "incident" }),
        )
        .await;
    assert_eq!(paused.status(), 200);
    let flushed = app.instance_with_empty_store().await;
    for (action, status, code) in grant_actions(&flushed, &token, "database").await {
        assert_eq!(
            (status, code.as_str()),
            (409, "campaign_paused"),
            "{action}"
        );
    }
}
