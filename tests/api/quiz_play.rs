//! Playing a quiz: attempts, server-timed answers, rewards once, anti-cheat, progress and the leaderboard.

use std::collections::HashSet;

use chrono::Duration;
use futures::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;
use wxcampaign::entities::{chance_grants, points_ledger, quiz_attempts};

use crate::helpers::{error_code, spawn_app, TestApp};

pub(crate) const CAMPAIGN: &str = "quiz-test";

/// Right options read 对… or 正确; wrong ones 错… or 干扰…: a test can answer either way from what it is shown.
fn bank_csv() -> String {
    let mut csv = String::from(
        "kind,stem,option_a,option_b,option_c,option_d,option_e,option_f,answer,explanation,tags,difficulty\n",
    );
    for n in 1..=6 {
        csv += &format!("single,基础题{n},对{n},错{n}甲,错{n}乙,错{n}丙,,,A,解析基础{n},basic,2\n");
    }
    for n in 1..=3 {
        csv += &format!(
            "multiple,多选题{n},对{n}甲,对{n}乙,错{n}甲,错{n}乙,,,\"A,B\",解析多选{n},multi,3\n"
        );
    }
    csv += "single,六选一,正确,干扰1,干扰2,干扰3,干扰4,干扰5,A,解析六选一,one,1\n";
    csv
}

pub(crate) fn quiz_config() -> Value {
    json!({
        "bank": "quiz-bank", "pool": "quiz-pool",
        "levels": [
            { "name": "基础", "tags": ["basic"], "questions": 3, "seconds_per_question": 20, "pass_score": 2,
              "daily_attempts": 3, "reward_points": 30, "reward_chances": 1 },
            { "name": "多选", "tags": ["multi"], "questions": 3, "seconds_per_question": 20, "pass_score": 2,
              "daily_attempts": 2, "reward_points": 50 },
            { "name": "洗牌", "tags": ["one"], "questions": 1, "seconds_per_question": 20, "pass_score": 1,
              "daily_attempts": 1, "requires_previous": false }
        ]
    })
}

/// A live campaign with the quiz above, its bank and a one-prize pool. Returns the operator's token.
async fn live_quiz(app: &TestApp) -> String {
    live_quiz_with(app, quiz_config()).await
}

async fn live_quiz_with(app: &TestApp, config: Value) -> String {
    live_quiz_beside(app, config, &[]).await
}

/// The quiz campaign with `others` activities beside its quiz (a team activity asking for a passed level).
pub(crate) async fn live_quiz_beside(app: &TestApp, config: Value, others: &[Value]) -> String {
    let operator = app.staff_token("olivia", Role::Operator).await;
    let bank = app
        .post_json(
            "/admin/v1/quiz/banks",
            Some(&operator),
            &json!({ "slug": "quiz-bank", "name": "测试题库" }),
        )
        .await;
    assert_eq!(bank.status(), 201);
    let imported = app
        .api
        .post(app.url("/admin/v1/quiz/banks/quiz-bank/import"))
        .bearer_auth(&operator)
        .header("content-type", "text/csv")
        .body(bank_csv())
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 200, "{}", imported.text().await.unwrap());
    let base = app.clock.now();
    let at = |d: Duration| wxcampaign::calendar::shanghai(base + d);
    let campaign = json!({
        "slug": CAMPAIGN, "name": "答题测试", "theme": "闯关", "year": 2026, "quarter": 4,
        "preheat_at": at(Duration::minutes(30)), "starts_at": at(Duration::hours(1)), "ends_at": at(Duration::days(30)),
        "rules_text": "答题规则", "prize_summary": "见活动页",
        "activities": [{ "slug": "quiz", "kind": "quiz", "name": "闯关答题", "starts_at": at(Duration::hours(1)),
                         "ends_at": at(Duration::days(10)), "config": config }],
        "pools": [{ "slug": "quiz-pool", "name": "答题抽奖", "kind": "lottery", "daily_free_chances": 0,
                    "prizes": [{ "slug": "points", "name": "积分", "tier": 1, "kind": "points", "points": 5, "weight_bp": 10000 }] }]
    });
    let mut campaign = campaign;
    for other in others {
        let mut other = other.clone();
        other["starts_at"] = json!(at(Duration::hours(1)));
        other["ends_at"] = json!(at(Duration::days(10)));
        campaign["activities"].as_array_mut().unwrap().push(other);
    }
    app.launch_campaign(&operator, &campaign).await;
    operator
}

async fn start(app: &TestApp, token: &str, level: u32) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/campaigns/{CAMPAIGN}/quiz/levels/{level}/attempts"),
        Some(token),
        &json!({}),
    )
    .await
}

async fn started(app: &TestApp, token: &str, level: u32) -> Value {
    let response = start(app, token, level).await;
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

async fn send_answer(
    app: &TestApp,
    token: &str,
    attempt: &str,
    question: u64,
    options: &[String],
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/campaigns/{CAMPAIGN}/quiz/attempts/{attempt}/answers"),
        Some(token),
        &json!({ "question": question, "options": options }),
    )
    .await
}

async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get(path, Some(token)).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// Sends an answer that must be taken.
async fn answer_json(
    app: &TestApp,
    token: &str,
    attempt: &str,
    question: u64,
    options: &[String],
) -> Value {
    let response = send_answer(app, token, attempt, question, options).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The labels of the right (or of one wrong) option(s) of a shown question.
fn labels(question: &Value, right: bool) -> Vec<String> {
    let options = question["options"].as_array().unwrap();
    let is_right = |o: &&Value| {
        let text = o["text"].as_str().unwrap();
        text.starts_with('对') || text == "正确"
    };
    let chosen: Vec<String> = options
        .iter()
        .filter(|o| is_right(o) == right)
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    if right {
        chosen
    } else {
        chosen.into_iter().take(1).collect()
    }
}

/// Plays a whole attempt, `right[i]` saying whether question i is answered right, `seconds` apart.
/// Returns the last answer's response body.
pub(crate) async fn play(
    app: &TestApp,
    token: &str,
    level: u32,
    right: &[bool],
    seconds: i64,
) -> Value {
    let attempt = started(app, token, level).await;
    let id = attempt["attempt_id"].as_str().unwrap().to_owned();
    let mut question = attempt["question"].clone();
    let mut last = Value::Null;
    for &answer_right in right {
        app.clock.advance(Duration::seconds(seconds));
        let number = question["number"].as_u64().unwrap();
        let response = send_answer(app, token, &id, number, &labels(&question, answer_right)).await;
        assert_eq!(response.status(), 200);
        last = response.json().await.unwrap();
        assert_eq!(last["correct"], json!(answer_right));
        question = last["next_question"].clone();
    }
    last
}

async fn ledger_rows(app: &TestApp, reason: &str) -> u64 {
    points_ledger::Entity::find()
        .filter(points_ledger::Column::Reason.eq(reason))
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_full_play_through_passes_pays_the_rewards_and_unlocks_the_next_level() {
    let app = spawn_app().await;
    live_quiz(&app).await;
    let token = app.customer_token("player-pass").await;
    assert_eq!(
        error_code(start(&app, &token, 2).await).await,
        "level_locked"
    );

    let attempt = started(&app, &token, 1).await;
    assert_eq!(attempt["questions"], 3);
    assert_eq!(attempt["question"]["number"], 1);
    let id = attempt["attempt_id"].as_str().unwrap().to_owned();
    let mut question = attempt["question"].clone();
    for n in 1..=3u64 {
        app.clock.advance(Duration::seconds(3));
        let response = send_answer(&app, &token, &id, n, &labels(&question, true)).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["correct"], true);
        assert_eq!(body["late"], false);
        assert!(body["explanation"]
            .as_str()
            .unwrap()
            .starts_with("解析基础"));
        assert_eq!(body["correct_options"], json!(labels(&question, true)));
        if n < 3 {
            assert_eq!(body["next_question"]["number"], n + 1);
            assert!(body["result"].is_null());
        } else {
            assert!(body["next_question"].is_null());
            let result = &body["result"];
            assert_eq!(result["score"], 3);
            assert_eq!(result["passed"], true);
            assert_eq!(result["flagged"], false);
            assert_eq!(result["total_ms"], 9000);
            assert_eq!(result["points"], 30);
            assert_eq!(result["chances"], 1);
        }
        question = body["next_question"].clone();
    }

    let progress: Value = get_json(
        &app,
        &format!("/api/v1/campaigns/{CAMPAIGN}/quiz/progress"),
        &token,
    )
    .await;
    let levels = progress["levels"].as_array().unwrap();
    assert_eq!(levels[0]["passed"], true);
    assert_eq!(levels[0]["best_score"], 3);
    assert_eq!(levels[0]["attempts_left_today"], 2);
    assert_eq!(levels[1]["unlocked"], true);
    assert_eq!(levels[1]["passed"], false);

    let me: Value = get_json(&app, "/api/v1/me/points", &token).await;
    assert_eq!(me["balance"], 30);

    // A second pass improves nothing but the record: the level's rewards were paid on the first.
    let again = play(&app, &token, 1, &[true, true, false], 3).await;
    assert_eq!(again["result"]["passed"], true);
    assert_eq!(again["result"]["points"], 0);
    assert_eq!(again["result"]["chances"], 0);
    assert_eq!(ledger_rows(&app, "quiz_passed").await, 1);
    // Each pass is one event (a task may ask for a pass inside its own window); the rewards are paid once.
    assert_eq!(app.count_events("quiz_passed").await, 2);
    assert_eq!(
        chance_grants::Entity::find().count(&app.db).await.unwrap(),
        1
    );

    let fetched: Value = get_json(
        &app,
        &format!("/api/v1/campaigns/{CAMPAIGN}/quiz/attempts/{id}"),
        &token,
    )
    .await;
    assert_eq!(fetched["status"], "passed");
    assert_eq!(fetched["result"]["score"], 3);
    assert!(fetched["question"].is_null());
}

#[tokio::test]
async fn a_failed_play_through_pays_nothing_and_keeps_the_next_level_locked() {
    let app = spawn_app().await;
    live_quiz(&app).await;
    let token = app.customer_token("player-fail").await;
    let last = play(&app, &token, 1, &[true, false, false], 4).await;
    let result = &last["result"];
    assert_eq!(result["score"], 1);
    assert_eq!(result["pass_score"], 2);
    assert_eq!(result["passed"], false);
    assert_eq!(result["points"], 0);
    assert_eq!(ledger_rows(&app, "quiz_passed").await, 0);
    assert_eq!(
        error_code(start(&app, &token, 2).await).await,
        "level_locked"
    );
    let row = quiz_attempts::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "failed");
    assert_eq!(row.score, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_final_answer_sent_fifty_times_at_once_finishes_and_rewards_once() {
    let app = spawn_app().await;
    live_quiz(&app).await;
    let token = app.customer_token("player-race").await;
    let attempt = started(&app, &token, 1).await;
    let id = attempt["attempt_id"].as_str().unwrap().to_owned();
    let mut question = attempt["question"].clone();
    for n in 1..=2u64 {
        app.clock.advance(Duration::seconds(3));
        let body: Value = answer_json(&app, &token, &id, n, &labels(&question, true)).await;
        question = body["next_question"].clone();
    }
    app.clock.advance(Duration::seconds(3));
    let last = labels(&question, true);
    let responses = join_all((0..50).map(|_| send_answer(&app, &token, &id, 3, &last))).await;
    let mut finished = 0;
    let mut codes = Vec::new();
    for response in responses {
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["result"]["points"], 30);
            finished += 1;
        } else {
            codes.push(error_code(response).await);
        }
    }
    assert_eq!(finished, 1, "{codes:?}");
    assert!(codes.iter().all(|c| c == "attempt_finished"), "{codes:?}");
    assert_eq!(ledger_rows(&app, "quiz_passed").await, 1);
    assert_eq!(
        app.count_events("quiz_passed").await,
        1,
        "one pass, one event"
    );
    assert_eq!(
        chance_grants::Entity::find().count(&app.db).await.unwrap(),
        1
    );
    let row = quiz_attempts::Entity::find_by_id(id.as_str())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status.as_str(), row.points_granted), ("passed", 30));
}

#[tokio::test]
async fn a_late_answer_is_wrong_and_a_too_fast_one_flags_the_attempt_off_the_leaderboard() {
    let app = spawn_app().await;
    live_quiz(&app).await;
    let token = app.customer_token("player-timing").await;
    let attempt = started(&app, &token, 1).await;
    let id = attempt["attempt_id"].as_str().unwrap().to_owned();
    let question = attempt["question"].clone();

    // 20 s per question and 2 s of grace: the right option, 23 s later, is wrong.
    app.clock.advance(Duration::seconds(23));
    let late: Value = answer_json(&app, &token, &id, 1, &labels(&question, true)).await;
    assert_eq!(
        (late["correct"].clone(), late["late"].clone()),
        (json!(false), json!(true))
    );

    // No time at all: a person cannot read the question that fast.
    let question = late["next_question"].clone();
    let fast: Value = answer_json(&app, &token, &id, 2, &labels(&question, true)).await;
    assert_eq!(
        fast["correct"], true,
        "too fast is flagged, not marked wrong"
    );
    app.clock.advance(Duration::seconds(3));
    let question = fast["next_question"].clone();
    let last: Value = answer_json(&app, &token, &id, 3, &labels(&question, true)).await;
    assert_eq!(last["result"]["score"], 2);
    assert_eq!(last["result"]["passed"], true);
    assert_eq!(last["result"]["flagged"], true);

    let board: Value = get_json(
        &app,
        &format!("/api/v1/campaigns/{CAMPAIGN}/quiz/leaderboard"),
        &token,
    )
    .await;
    assert_eq!(board["top"], json!([]));
    assert!(board["you"].is_null());
}

#[tokio::test]
async fn out_of_turn_repeated_invalid_and_expired_answers_change_nothing() {
    let app = spawn_app().await;
    live_quiz(&app).await;
    let token = app.customer_token("player-bad").await;
    let stranger = app.customer_token("someone-else").await;
    let attempt = started(&app, &token, 1).await;
    let id = attempt["attempt_id"].as_str().unwrap().to_owned();
    let question = attempt["question"].clone();
    let right = labels(&question, true);
    app.clock.advance(Duration::seconds(3));

    let refusals = [
        (
            send_answer(&app, &token, &id, 2, &right).await,
            409,
            "not_current_question",
        ),
        (
            send_answer(&app, &token, &id, 1, &["Z".into()]).await,
            400,
            "invalid_option",
        ),
        (
            send_answer(&app, &token, &id, 1, &["E".into()]).await,
            400,
            "invalid_option",
        ),
        (
            send_answer(&app, &token, &id, 1, &["A".into(), "B".into()]).await,
            400,
            "invalid_option",
        ),
        (
            send_answer(&app, &token, &id, 1, &["A".into(), "A".into()]).await,
            400,
            "invalid_option",
        ),
        (
            send_answer(&app, &token, &id, 1, &[]).await,
            400,
            "invalid_option",
        ),
        (
            send_answer(&app, &stranger, &id, 1, &right).await,
            404,
            "attempt_not_found",
        ),
        (
            app.get(
                &format!("/api/v1/campaigns/{CAMPAIGN}/quiz/attempts/{id}"),
                Some(&stranger),
            )
            .await,
            404,
            "attempt_not_found",
        ),
        (
            send_answer(&app, &token, "not-an-attempt", 1, &right).await,
            404,
            "attempt_not_found",
        ),
    ];
    for (response, status, code) in refusals {
        assert_eq!(response.status(), status);
        assert_eq!(error_code(response).await, code);
    }

    // Nothing moved: question 1 is still current and takes its answer, once.
    let first: Value = answer_json(&app, &token, &id, 1, &right).await;
    assert_eq!(first["correct"], true);
    let again = send_answer(&app, &token, &id, 1, &right).await;
    assert_eq!(
        (again.status().as_u16(), error_code(again).await.as_str()),
        (409, "already_answered")
    );

    // Past the attempt's whole time (3 x 20 s + grace): no answer is taken.
    app.clock.advance(Duration::seconds(120));
    let next = labels(&first["next_question"], true);
    let expired = send_answer(&app, &token, &id, 2, &next).await;
    assert_eq!(
        (
            expired.status().as_u16(),
            error_code(expired).await.as_str()
        ),
        (410, "attempt_expired")
    );
    let row = quiz_attempts::Entity::find_by_id(id.as_str())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status.as_str(), row.score), ("active", None));
    let progress: Value = get_json(
        &app,
        &format!("/api/v1/campaigns/{CAMPAIGN}/quiz/progress"),
        &token,
    )
    .await;
    assert!(progress["levels"][0]["active_attempt"].is_null());
}

/// Every key a question may show; nothing that says which option is right.
fn assert_no_answer_in(question: &Value) {
    let keys: HashSet<&str> = question
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from(["number", "of", "seconds", "kind", "stem", "options"])
    );
    for option in question["options"].as_array().unwrap() {
        let keys: HashSet<&str> = option
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, HashSet::from(["id", "text"]));
    }
}

#[tokio::test]
async fn no_response_shows_an_answer_before_it_is_given_and_options_are_shuffled_per_attempt() {
    let app = spawn_app().await;
    live_quiz(&app).await;
    let token = app.customer_token("player-peek").await;
    let attempt = started(&app, &token, 1).await;
    let id = attempt["attempt_id"].as_str().unwrap().to_owned();
    let mut question = attempt["question"].clone();
    let mut texts = vec![attempt.to_string()];
    for n in 1..=3u64 {
        assert_no_answer_in(&question);
        let stem = question["stem"].as_str().unwrap().to_owned();
        let explanation = format!("解析基础{}", stem.trim_start_matches("基础题"));
        assert!(
            texts.iter().all(|t| !t.contains(&explanation)),
            "{explanation} shown before question {n} was answered"
        );
        app.clock.advance(Duration::seconds(2));
        let response = send_answer(&app, &token, &id, n, &labels(&question, false)).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["explanation"], explanation.as_str());
        texts.push(body.to_string());
        question = body["next_question"].clone();
    }

    // One question with six options, shown to ten players: the order and the right option's label vary.
    let mut orders = HashSet::new();
    let mut right_labels = HashSet::new();
    for player in 0..10 {
        let token = app.customer_token(&format!("shuffle-{player}")).await;
        let attempt = started(&app, &token, 3).await;
        assert_no_answer_in(&attempt["question"]);
        let order: Vec<String> = attempt["question"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["text"].as_str().unwrap().to_owned())
            .collect();
        orders.insert(order);
        right_labels.insert(labels(&attempt["question"], true));
    }
    assert!(orders.len() > 1, "every attempt showed the same order");
    assert!(right_labels.len() > 1, "the right option kept its label");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn starts_race_to_one_attempt_and_the_daily_limit_holds() {
    let app = spawn_app().await;
    live_quiz(&app).await;
    let token = app.customer_token("player-limit").await;
    let responses = join_all((0..20).map(|_| start(&app, &token, 1))).await;
    let mut ids = HashSet::new();
    for response in responses {
        assert!(response.status().is_success());
        let body: Value = response.json().await.unwrap();
        ids.insert(body["attempt_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one active attempt per level");
    assert_eq!(
        quiz_attempts::Entity::find().count(&app.db).await.unwrap(),
        1
    );

    // Let it run out, then use up the other two of the day.
    app.clock.advance(Duration::seconds(120));
    for _ in 0..2 {
        play(&app, &token, 1, &[false, false, false], 3).await;
    }
    let refused = start(&app, &token, 1).await;
    assert_eq!(
        (
            refused.status().as_u16(),
            error_code(refused).await.as_str()
        ),
        (429, "daily_limit_reached")
    );
    assert_eq!(
        quiz_attempts::Entity::find().count(&app.db).await.unwrap(),
        3
    );

    // A new day in Shanghai brings new attempts.
    app.clock.advance(Duration::days(1));
    assert_eq!(start(&app, &token, 1).await.status(), 201);
}

#[tokio::test]
async fn a_paused_or_unopened_quiz_starts_and_takes_nothing() {
    let app = spawn_app().await;
    let operator = live_quiz(&app).await;
    let token = app.customer_token("player-paused").await;
    let attempt = started(&app, &token, 1).await;
    let id = attempt["attempt_id"].as_str().unwrap().to_owned();
    let right = labels(&attempt["question"], true);
    let paused = app
        .post_json(
            &format!("/admin/v1/campaigns/{CAMPAIGN}/pause"),
            Some(&operator),
            &json!({ "reason": "排查问题" }),
        )
        .await;
    assert_eq!(paused.status(), 200);
    app.clock.advance(Duration::seconds(3));
    assert_eq!(
        error_code(send_answer(&app, &token, &id, 1, &right).await).await,
        "campaign_paused"
    );
    let other = app.customer_token("player-paused-2").await;
    assert_eq!(
        error_code(start(&app, &other, 1).await).await,
        "campaign_paused"
    );
    assert_eq!(
        quiz_attempts::Entity::find().count(&app.db).await.unwrap(),
        1
    );

    let unknown = start(&app, &token, 9).await;
    assert_eq!(
        (
            unknown.status().as_u16(),
            error_code(unknown).await.as_str()
        ),
        (404, "level_not_found")
    );
    app.clock.advance(Duration::days(40));
    assert_eq!(
        error_code(start(&app, &other, 1).await).await,
        "campaign_not_live"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_leaderboard_ranks_by_score_then_time_and_rebuilds_after_a_store_flush() {
    let app = spawn_app().await;
    let operator = live_quiz(&app).await;
    let fast = app.customer_token("board-fast").await;
    let slow = app.customer_token("board-slow").await;
    let weaker = app.customer_token("board-weaker").await;
    play(&app, &fast, 1, &[true, true, true], 3).await;
    play(&app, &slow, 1, &[true, true, true], 5).await;
    play(&app, &weaker, 1, &[true, true, false], 2).await;

    let board_of = |app: &TestApp, token: String| {
        let path = format!("/api/v1/campaigns/{CAMPAIGN}/quiz/leaderboard?top=10");
        let request = app.api.get(app.url(&path)).bearer_auth(token).send();
        async move { request.await.unwrap().json::<Value>().await.unwrap() }
    };
    let expected = json!([
        { "rank": 1, "score": 3, "total_ms": 9000, "player": "微信用户", "you": false },
        { "rank": 2, "score": 3, "total_ms": 15000, "player": "微信用户", "you": false },
        { "rank": 3, "score": 2, "total_ms": 6000, "player": "微信用户", "you": true }
    ]);
    let board = board_of(&app, weaker.clone()).await;
    assert_eq!(board["top"], expected);
    assert_eq!(board["you"]["rank"], 3);

    // A better run moves the slow player up; a worse one changes nothing.
    play(&app, &slow, 1, &[true, true, true], 2).await;
    play(&app, &fast, 1, &[false, false, false], 2).await;
    let board = board_of(&app, slow.clone()).await;
    assert_eq!(board["you"]["rank"], 1);
    assert_eq!(board["you"]["total_ms"], 6000);

    // The store loses everything: the board comes back from the database.
    let flushed = app.instance_with_empty_store().await;
    let readers = join_all((0..10).map(|_| board_of(&flushed, weaker.clone()))).await;
    assert!(readers.iter().all(|r| r["top"].is_array()), "{readers:?}");
    let rebuilt = board_of(&flushed, slow.clone()).await;
    assert_eq!(rebuilt, board);
    let top: Vec<i64> = rebuilt["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["total_ms"].as_i64().unwrap())
        .collect();
    assert_eq!(top, vec![6000, 9000, 6000]);

    // Staff can rebuild it by hand too (audited); customers and other roles cannot.
    let rebuild = format!("/admin/v1/campaigns/{CAMPAIGN}/quiz/leaderboard/rebuild");
    let manager = flushed.staff_token("carl", Role::CommunityManager).await;
    let audit_before = flushed.count_audit_entries().await;
    assert_eq!(
        flushed
            .post_json(&rebuild, Some(&slow), &json!({}))
            .await
            .status(),
        403
    );
    assert_eq!(
        flushed
            .post_json(&rebuild, Some(&manager), &json!({}))
            .await
            .status(),
        403
    );
    let rebuilt: Value = flushed
        .post_json(&rebuild, Some(&operator), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rebuilt["entries"], 3);
    assert_eq!(flushed.count_audit_entries().await, audit_before + 1);
}

#[tokio::test]
async fn a_level_its_bank_cannot_fill_is_refused_before_anyone_plays_it() {
    let app = spawn_app().await;
    let mut config = quiz_config();
    config["levels"][1]["requires_previous"] = json!(false);
    config["levels"][1]["questions"] = json!(4);
    config["levels"][1]["pass_score"] = json!(3);
    live_quiz_with(&app, config).await;
    let token = app.customer_token("player-misconfigured").await;
    let refused = start(&app, &token, 2).await;
    assert_eq!(
        (
            refused.status().as_u16(),
            error_code(refused).await.as_str()
        ),
        (503, "quiz_unavailable")
    );
    assert_eq!(
        quiz_attempts::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    assert_eq!(
        start(&app, &token, 1).await.status(),
        201,
        "the other levels play"
    );
}
