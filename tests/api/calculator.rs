//! The education-fund calculator: its maths (worked examples in the unit tests) behind the gate of its activity.

use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app};

const PLAN: &str = "/api/v1/campaigns/q3-2026-autumn/calculators/edu-calculator/education-fund";

#[tokio::test]
async fn the_demo_calculator_plans_while_its_activity_is_open_and_refuses_bad_input_by_field() {
    let app = spawn_app().await;
    app.demo_year_at("2026-08-01 10:00").await;
    let six_year_old =
        json!({ "child_age": 6, "target_fen": 30_000_000, "savings_fen": 5_000_000 });
    let response = app.post_json(PLAN, None, &six_year_old).await;
    assert_eq!(response.status(), 200);
    let plan: Value = response.json().await.unwrap();
    assert_eq!(plan["years"], json!(12));
    assert_eq!(plan["future_cost_fen"], json!(42_772_827));
    assert_eq!(plan["monthly_fen"], json!(206_472));
    assert!(plan["disclaimer"].as_str().unwrap().contains("仅供参考"));

    let too_old = app
        .post_json(PLAN, None, &json!({ "child_age": 18, "target_fen": 100 }))
        .await;
    assert_eq!(too_old.status(), 400);
    let body: Value = too_old.json().await.unwrap();
    assert_eq!(
        (body["code"].clone(), body["field"].clone()),
        (json!("invalid_input"), json!("child_age"))
    );
    let unknown_field = app
        .post_json(
            PLAN,
            None,
            &json!({ "child_age": 6, "target_fen": 100, "salary": 1 }),
        )
        .await;
    assert_eq!(unknown_field.status(), 400);
    let not_a_calculator = app
        .post_json(
            "/api/v1/campaigns/q3-2026-autumn/calculators/edu-poster/education-fund",
            None,
            &six_year_old,
        )
        .await;
    assert_eq!(error_code(not_a_calculator).await, "activity_not_found");

    // Once Q3 is over, the calculator closes with its campaign.
    app.demo_year_at("2026-11-01 10:00").await;
    let closed = app.post_json(PLAN, None, &six_year_old).await;
    assert_eq!(closed.status(), 409);
    assert_eq!(error_code(closed).await, "campaign_not_live");
}
