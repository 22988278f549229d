use std::process::Command;

use serde_json::{json, Value};
use wxcampaign::auth::Role;

use crate::helpers::{
    config_dir, error_code, fresh_database_url, spawn_app, spawn_app_with, TestApp,
};

const GOOD_CSV: &str =
    "kind,stem,option_a,option_b,option_c,option_d,answer,explanation,tags,difficulty
single,压岁钱最适合先做什么？,全部买零食,设定储蓄目标,借给同学,,B,先设目标再规划花费。,压岁钱;储蓄,1
multiple,以下哪些属于家庭保障？,意外险,重疾险,彩票,医疗险,\"A,B,D\",彩票不是保障。,保险,2
single,\"通胀会让现金的购买力？\",上升,下降,,,B,物价上涨时同样的钱能买的更少。,,
";

async fn post_file(
    app: &TestApp,
    token: &str,
    bank: &str,
    content_type: &str,
    body: &str,
) -> reqwest::Response {
    app.api
        .post(app.url(&format!("/admin/v1/quiz/banks/{bank}/import")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn bank_with_operator(app: &TestApp) -> String {
    let operator = app.staff_token("olivia", Role::Operator).await;
    let created = app
        .post_json(
            "/admin/v1/quiz/banks",
            Some(&operator),
            &json!({ "slug": "q1-quiz", "name": "新春理财闯关" }),
        )
        .await;
    assert_eq!(created.status(), 201);
    operator
}

async fn question_count(app: &TestApp, token: &str) -> u64 {
    let summary: Value = app
        .get("/admin/v1/quiz/banks/q1-quiz", Some(token))
        .await
        .json()
        .await
        .unwrap();
    summary["questions"].as_u64().unwrap()
}

#[tokio::test]
async fn a_csv_file_imports_every_question() {
    let app = spawn_app().await;
    let operator = bank_with_operator(&app).await;
    let response = post_file(&app, &operator, "q1-quiz", "text/csv", GOOD_CSV).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["imported"], 3);
    assert_eq!(question_count(&app, &operator).await, 3);

    use sea_orm::EntityTrait;
    let questions = wxcampaign::entities::quiz_questions::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let multiple = questions.iter().find(|q| q.kind == "multiple").unwrap();
    assert_eq!(multiple.correct, json!(["A", "B", "D"]));
    assert_eq!(multiple.options[3], json!({ "id": "D", "text": "医疗险" }));
    assert_eq!(
        questions
            .iter()
            .find(|q| q.stem.contains("通胀"))
            .unwrap()
            .difficulty,
        3,
        "the default"
    );
}

#[tokio::test]
async fn a_file_with_bad_rows_is_refused_whole_with_each_row_number() {
    let app = spawn_app().await;
    let operator = bank_with_operator(&app).await;
    let bad = "kind,stem,option_a,option_b,option_c,answer,explanation,difficulty
single,好问题,甲,乙,,A,解释,2
single,少了解释,甲,乙,,A,,2
essay,题型不对,甲,乙,,A,解释,2
single,答案越界,甲,乙,,C,解释,2
multiple,多选只有一个答案,甲,乙,丙,A,解释,2
single,难度不对,甲,乙,,A,解释,9
";
    let response = post_file(&app, &operator, "q1-quiz", "text/csv", bad).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_questions");
    let message = body["message"].as_str().unwrap();
    for row in [
        "row 3: explanation",
        "row 4: kind",
        "row 5: answer",
        "row 6: answer",
        "row 7: difficulty",
    ] {
        assert!(message.contains(row), "{row} in {message}");
    }
    assert!(!message.contains("row 2"), "the good row is not blamed");
    assert_eq!(question_count(&app, &operator).await, 0, "all or nothing");
}

#[tokio::test]
async fn json_files_import_too_and_name_the_bad_item() {
    let app = spawn_app().await;
    let operator = bank_with_operator(&app).await;
    let good = json!([{ "kind": "single", "stem": "社保缴费基数由什么决定？", "options": ["工资", "年龄"], "answer": ["A"],
                        "explanation": "以工资为基础核定。", "tags": ["社保"], "difficulty": 2 }]);
    let response = post_file(
        &app,
        &operator,
        "q1-quiz",
        "application/json",
        &good.to_string(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let bad = json!([good[0].clone(), { "kind": "single", "stem": "x", "options": ["a", "b"], "answer": ["A"], "surprise": 1 }]);
    let response = post_file(
        &app,
        &operator,
        "q1-quiz",
        "application/json",
        &bad.to_string(),
    )
    .await;
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("row 2"),
        "{body}"
    );
    assert_eq!(question_count(&app, &operator).await, 1);
}

#[tokio::test]
async fn imports_are_refused_for_other_roles_types_and_banks() {
    let app = spawn_app_with(&[]).await;
    let operator = bank_with_operator(&app).await;
    let manager = app.staff_token("carl", Role::CommunityManager).await;
    assert_eq!(
        post_file(&app, &manager, "q1-quiz", "text/csv", GOOD_CSV)
            .await
            .status(),
        403
    );
    let wrong_type = post_file(&app, &operator, "q1-quiz", "text/plain", GOOD_CSV).await;
    assert_eq!(error_code(wrong_type).await, "unsupported_media_type");
    let no_bank = post_file(&app, &operator, "no-such-bank", "text/csv", GOOD_CSV).await;
    assert_eq!(error_code(no_bank).await, "bank_not_found");
    assert_eq!(question_count(&app, &operator).await, 0);
}

#[tokio::test]
async fn the_cli_imports_a_file_or_lists_its_bad_rows() {
    let database_url = fresh_database_url().await;
    let dir = std::env::temp_dir();
    let good = dir.join(format!("good-{}.csv", uuid::Uuid::new_v4().simple()));
    std::fs::write(&good, GOOD_CSV).unwrap();
    let bad = dir.join(format!("bad-{}.csv", uuid::Uuid::new_v4().simple()));
    std::fs::write(&bad, GOOD_CSV.replace(",B,先设目标", ",Z,先设目标")).unwrap();
    let run = |file: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_wxcampaign"))
            .args([
                "quiz",
                "import",
                file.to_str().unwrap(),
                "--bank",
                "q1-quiz",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("APP_CONFIG_DIR", config_dir())
            .env("APP_ENVIRONMENT", "test")
            .env("APP__DATABASE__URL", &database_url)
            .output()
            .unwrap()
    };
    let refused = run(&bad);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("row 2: answer"), "{stderr}");
    let imported = run(&good);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(String::from_utf8_lossy(&imported.stdout).contains("imported 3 questions"));
}

/// The demo calendar's quizzes must be playable on the demo bank: every level finds at least 20 questions.
#[test]
fn the_demo_bank_has_twenty_questions_for_every_demo_quiz_level() {
    use wxcampaign::calendar::{read_config, ActivityKind};
    use wxcampaign::quiz::bank::{parse, Format};
    use wxcampaign::quiz::levels::QuizConfig;

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let csv = std::fs::read(root.join("config/quiz/financial-literacy.csv")).unwrap();
    let questions = parse(Format::Csv, &csv, &|_, _| {}).expect("the demo bank imports");
    let calendar =
        wxcampaign::planning::import::read(&root.join("config/calendar/2026.toml")).unwrap();
    let mut levels = 0;
    for campaign in &calendar.campaigns {
        for activity in campaign
            .activities
            .iter()
            .filter(|a| a.kind == ActivityKind::Quiz)
        {
            let quiz = read_config::<QuizConfig>(&activity.config).unwrap();
            assert_eq!(quiz.bank, "financial-literacy");
            for level in &quiz.levels {
                let matching = questions
                    .iter()
                    .filter(|q| q.tags.iter().any(|t| level.tags.contains(t)))
                    .filter(|q| {
                        (level.min_difficulty..=level.max_difficulty).contains(&q.difficulty)
                    })
                    .count();
                assert!(matching >= 20, "{}: {} questions", level.name, matching);
                levels += 1;
            }
        }
    }
    assert_eq!(levels, 9, "Q1 has four levels, Q2 two and Q4 three");
}
