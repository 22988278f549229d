//! Team-ups: seats are one atomic store step with the database as the last guard, a team completes once and
//! rewards each member once, an unfilled team expires with its consolation, and every bad join changes nothing.

use chrono::Duration;
use futures::future::join_all;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{json, Value};
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;
use wxcampaign::entities::{team_members, teams};
use wxcampaign::jobs::Scheduler;

use crate::helpers::{error_code, spawn_app, TestApp};

const CAMPAIGN: &str = "teams-test";
const ACTIVITY: &str = "trio";

fn trio() -> Value {
    json!({ "team_size": 3, "window_hours": 24, "reward": { "points": 50 }, "consolation": { "points": 5 } })
}

/// The live campaign `teams-test` with the team activity `trio` (its config as given), made through the staff
/// API. Returns the operator's token.
async fn team_campaign(app: &TestApp, config: Value) -> String {
    let operator = app.staff_token("olivia", Role::Operator).await;
    let base = app.clock.now();
    let at = |d: Duration| wxcampaign::calendar::shanghai(base + d);
    let campaign = json!({
        "slug": CAMPAIGN, "name": "组队测试", "theme": "组队", "year": 2026, "quarter": 1,
        "preheat_at": at(Duration::minutes(30)), "starts_at": at(Duration::hours(1)), "ends_at": at(Duration::days(30)),
        "rules_text": "组队规则", "prize_summary": "见活动页",
        "activities": [{ "slug": ACTIVITY, "kind": "team", "name": "三人组队", "starts_at": at(Duration::hours(1)),
                         "ends_at": at(Duration::days(20)), "config": config }]
    });
    app.launch_campaign(&operator, &campaign).await;
    operator
}

async fn create_team(
    app: &TestApp,
    token: &str,
    campaign: &str,
    activity: &str,
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/campaigns/{campaign}/teams/{activity}"),
        Some(token),
        &json!({}),
    )
    .await
}

/// A new team of `trio` led by `token`'s customer: its share code.
async fn new_team(app: &TestApp, token: &str) -> String {
    let response = create_team(app, token, CAMPAIGN, ACTIVITY).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let team: Value = response.json().await.unwrap();
    team["code"].as_str().unwrap().to_owned()
}

async fn join(app: &TestApp, token: &str, code: &str, key: &str) -> reqwest::Response {
    app.api
        .post(app.url(&format!("/api/v1/teams/{code}/members")))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .send()
        .await
        .unwrap()
}

async fn seats(app: &TestApp, code: &str) -> Vec<team_members::Model> {
    let team = team_row(app, code).await;
    team_members::Entity::find()
        .filter(team_members::Column::TeamId.eq(team.id))
        .all(&app.db)
        .await
        .unwrap()
}

async fn team_status(app: &TestApp, code: &str) -> String {
    let view: Value = app
        .get(&format!("/api/v1/teams/{code}"), None)
        .await
        .json()
        .await
        .unwrap();
    view["status"].as_str().unwrap().to_owned()
}

async fn team_row(app: &TestApp, code: &str) -> teams::Model {
    teams::Entity::find()
        .filter(teams::Column::Code.eq(code))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn leader_id(app: &TestApp, code: &str) -> i64 {
    let team = team_row(app, code).await;
    team.leader_id
}

/// Makes the store hold these seats for the team, whatever the database says (a store that lies). Returns the
/// team and its activity.
async fn store_says(app: &TestApp, code: &str, taken: Vec<(u32, i64)>) -> (teams::Model, i64) {
    let team = team_row(app, code).await;
    let activity = seats(app, code).await[0].activity_id;
    app.store
        .hydrate_team(&wxcampaign::store::teams::TeamSeats {
            campaign: CAMPAIGN.into(),
            activity_id: activity,
            team_id: team.id,
            size: team.size as u32,
            leader_id: team.leader_id,
            expires_at_ms: team.expires_at.timestamp_millis(),
            seats: taken,
            keep_for: std::time::Duration::from_secs(3600),
        })
        .await
        .unwrap();
    (team, activity)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_joins_of_a_three_seat_team_seat_exactly_three_and_reward_each_once() {
    let app = spawn_app().await;
    team_campaign(&app, trio()).await;
    let leader = app.customer_token("oTeamLeader0001").await;
    let code = new_team(&app, &leader).await;
    let mut joiners = Vec::new();
    for i in 0..100 {
        joiners.push(app.customer_token(&format!("oTeamJoiner{i:04}")).await);
    }
    let answers = join_all(joiners.iter().enumerate().map(|(i, token)| {
        let (app, code) = (&app, &code);
        async move {
            let response = join(app, token, code, &format!("join-{i:04}")).await;
            let status = response.status().as_u16();
            (status, error_code(response).await)
        }
    }))
    .await;
    let seated: Vec<usize> = (0..100).filter(|&i| answers[i].0 == 200).collect();
    assert_eq!(seated.len(), 2, "the two free seats are taken: {answers:?}");
    assert!(
        answers
            .iter()
            .filter(|(status, _)| *status != 200)
            .all(|(status, code)| *status == 409 && code == "team_full"),
        "everyone else is told the team is full: {answers:?}"
    );
    let members = seats(&app, &code).await;
    let mut taken: Vec<i32> = members.iter().map(|m| m.seat).collect();
    taken.sort();
    assert_eq!(taken, vec![1, 2, 3]);
    assert_eq!(team_status(&app, &code).await, "complete");
    // Each member is paid once, the leader included; a retried join (same key) answers the same, pays nothing.
    assert_eq!(app.points_balance(&leader).await, 50);
    for &i in &seated {
        assert_eq!(app.points_balance(&joiners[i]).await, 50);
        let again = join(&app, &joiners[i], &code, &format!("join-{i:04}")).await;
        assert_eq!(again.status(), 200);
        assert_eq!(app.points_balance(&joiners[i]).await, 50);
    }
    let someone_else = (0..100).find(|i| !seated.contains(i)).unwrap();
    assert_eq!(app.points_balance(&joiners[someone_else]).await, 0);
    // The scheduler settling later pays nobody twice, and each member's completion is recorded once.
    app.clock.advance(Duration::days(2));
    Scheduler::new(app.state.clone()).run_due().await.unwrap();
    assert_eq!(app.points_balance(&leader).await, 50);
    assert_eq!(app.count_events("team_completed").await, 3);
}

#[tokio::test]
async fn bad_joins_and_teams_are_refused_with_stable_codes_and_grant_nothing() {
    let app = spawn_app().await;
    team_campaign(&app, trio()).await;
    let leader = app.customer_token("oTeamLeader0002").await;
    let other_leader = app.customer_token("oTeamLeader0003").await;
    let friend = app.customer_token("oTeamFriend0001").await;
    let code = new_team(&app, &leader).await;
    let other = new_team(&app, &other_leader).await;
    // Asking again for a team returns the one already led.
    let again = create_team(&app, &leader, CAMPAIGN, ACTIVITY).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["code"], json!(code));
    let refused = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        (status, error_code(response).await)
    };
    assert_eq!(
        refused(join(&app, &leader, &code, "own-team-1").await).await,
        (409, "own_team".into())
    );
    assert_eq!(
        refused(join(&app, &friend, "ZZZZZZZZ", "unknown-1").await).await,
        (404, "team_not_found".into())
    );
    assert_eq!(
        refused(join(&app, &friend, "not-a-code", "malformed-1").await).await,
        (404, "team_not_found".into())
    );
    let no_key = app
        .post_json(
            &format!("/api/v1/teams/{code}/members"),
            Some(&friend),
            &json!({}),
        )
        .await;
    assert_eq!(
        refused(no_key).await,
        (400, "idempotency_key_missing".into())
    );
    assert_eq!(
        join(&app, &friend, &code, "friend-join-1").await.status(),
        200
    );
    // One team per customer and activity: not a second seat, not a team of one's own.
    assert_eq!(
        refused(join(&app, &friend, &other, "friend-join-2").await).await,
        (409, "already_in_team".into())
    );
    assert_eq!(
        refused(create_team(&app, &friend, CAMPAIGN, ACTIVITY).await).await,
        (409, "already_in_team".into())
    );
    assert_eq!(
        refused(create_team(&app, &friend, CAMPAIGN, "no-such-activity").await).await,
        (404, "activity_not_found".into())
    );
    // A paused campaign takes no joins.
    app.store.set_paused(CAMPAIGN, true).await.unwrap();
    let late = app.customer_token("oTeamFriend0002").await;
    assert_eq!(
        refused(join(&app, &late, &other, "paused-join-1").await).await,
        (409, "campaign_paused".into())
    );
    assert_eq!(seats(&app, &other).await.len(), 1, "nothing was seated");
    // Nothing was paid for any of it: no team completed.
    for token in [&leader, &other_leader, &friend, &late] {
        assert_eq!(app.points_balance(token).await, 0);
    }
}

#[tokio::test]
async fn an_unfilled_team_expires_with_its_consolation_and_frees_its_members() {
    let app = spawn_app().await;
    team_campaign(&app, trio()).await;
    let leader = app.customer_token("oTeamLeader0004").await;
    let friend = app.customer_token("oTeamFriend0003").await;
    let code = new_team(&app, &leader).await;
    assert_eq!(
        join(&app, &friend, &code, "expiry-join-1").await.status(),
        200
    );
    app.clock.advance(Duration::hours(25));
    let late = app.customer_token("oTeamFriend0004").await;
    let refused = join(&app, &late, &code, "expiry-join-2").await;
    assert_eq!(refused.status(), 409);
    assert_eq!(error_code(refused).await, "team_expired");
    Scheduler::new(app.state.clone()).run_due().await.unwrap();
    assert_eq!(team_status(&app, &code).await, "expired");
    assert_eq!(app.points_balance(&leader).await, 5);
    assert_eq!(app.points_balance(&friend).await, 5);
    assert_eq!(app.points_balance(&late).await, 0);
    // Freed: the friend can make a team of their own, and join nothing twice.
    let fresh = new_team(&app, &friend).await;
    assert_ne!(fresh, code);
    Scheduler::new(app.state.clone()).run_due().await.unwrap();
    assert_eq!(
        app.points_balance(&friend).await,
        5,
        "the consolation is paid once"
    );
}

#[tokio::test]
async fn the_database_refuses_a_seat_the_store_should_not_have_given() {
    let app = spawn_app().await;
    team_campaign(&app, trio()).await;
    let leader = app.customer_token("oTeamLeader0005").await;
    let code = new_team(&app, &leader).await;
    let first = app.customer_token("oTeamFriend0005").await;
    assert_eq!(
        join(&app, &first, &code, "lying-join-1").await.status(),
        200
    );
    // The store forgets the first friend's seat (as a lying or half-restored store would): it offers seat 2
    // again, the database refuses it, and the join is retried on seats read back from the database.
    let (team, activity) = store_says(&app, &code, vec![(1, leader_id(&app, &code).await)]).await;
    let second = app.customer_token("oTeamFriend0006").await;
    assert_eq!(
        join(&app, &second, &code, "lying-join-2").await.status(),
        200
    );
    let mut taken: Vec<i32> = seats(&app, &code).await.iter().map(|m| m.seat).collect();
    taken.sort();
    assert_eq!(
        taken,
        vec![1, 2, 3],
        "the second friend got the real free seat"
    );
    assert_eq!(team_status(&app, &code).await, "complete");
    // And a seat past the team's size is refused by the database itself.
    let beyond = team_members::ActiveModel {
        team_id: Set(team.id),
        activity_id: Set(activity),
        user_id: Set(app.customer_id("oTeamFriend0007").await),
        seat: Set(4),
        team_size: Set(3),
        active_activity_id: Set(Some(activity)),
        joined_at: Set(app.clock.now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await;
    assert!(beyond.is_err(), "seat 4 of 3 was stored");
    let count = team_members::Entity::find()
        .filter(team_members::Column::TeamId.eq(team.id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 3);
}

#[tokio::test]
async fn a_team_completes_only_once_every_member_has_passed_the_quiz_level() {
    let app = spawn_app().await;
    let duo = json!({ "slug": "duo", "kind": "team", "name": "双人闯关", "config": {
        "team_size": 2, "quiz_level": 1, "reward": { "points": 40 } } });
    crate::quiz_play::live_quiz_beside(&app, crate::quiz_play::quiz_config(), &[duo]).await;
    let leader = app.customer_token("oTeamQuizLead01").await;
    let friend = app.customer_token("oTeamQuizFrnd01").await;
    let made = create_team(&app, &leader, crate::quiz_play::CAMPAIGN, "duo").await;
    assert_eq!(made.status(), 201);
    let code = made.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        join(&app, &friend, &code, "quiz-team-join").await.status(),
        200
    );
    assert_eq!(
        team_status(&app, &code).await,
        "open",
        "full, but nobody has played"
    );
    crate::quiz_play::play(&app, &leader, 1, &[true, true, true], 2).await;
    Scheduler::new(app.state.clone()).run_due().await.unwrap();
    assert_eq!(
        team_status(&app, &code).await,
        "open",
        "one member has not passed"
    );
    let leader_after_quiz = app.points_balance(&leader).await;
    crate::quiz_play::play(&app, &friend, 1, &[true, true, true], 2).await;
    let friend_after_quiz = app.points_balance(&friend).await;
    app.clock.advance(Duration::minutes(1));
    Scheduler::new(app.state.clone()).run_due().await.unwrap();
    assert_eq!(team_status(&app, &code).await, "complete");
    assert_eq!(app.points_balance(&leader).await, leader_after_quiz + 40);
    assert_eq!(app.points_balance(&friend).await, friend_after_quiz + 40);
}

#[tokio::test]
async fn the_demo_family_team_seats_four_and_waits_for_every_member_to_pass_level_one() {
    let app = spawn_app().await;
    app.demo_year_at("2026-02-01 10:00").await;
    let leader = app.customer_token("oFamilyLeader01").await;
    let made = create_team(&app, &leader, "q1-2026-spring", "family-team").await;
    assert_eq!(made.status(), 201);
    let team: Value = made.json().await.unwrap();
    assert_eq!(
        (team["size"].clone(), team["quiz_level"].clone()),
        (json!(4), json!(1))
    );
    assert_eq!(team["reward"]["points"], json!(200));
    let code = team["code"].as_str().unwrap().to_owned();
    for i in 0..3 {
        let member = app.customer_token(&format!("oFamilyMember{i:02}")).await;
        assert_eq!(
            join(&app, &member, &code, &format!("family-{i}"))
                .await
                .status(),
            200
        );
    }
    let view: Value = app
        .get(&format!("/api/v1/teams/{code}"), Some(&leader))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["seats_left"], json!(0));
    assert_eq!(
        view["status"],
        json!("open"),
        "full, but level 1 not yet passed"
    );
    assert_eq!(view["your_seat"], json!(1));
    assert!(view["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["done"] == json!(false)));
    assert!(!view.to_string().contains("oFamily"), "no member is named");
}

#[tokio::test]
async fn a_seat_the_store_kept_for_a_join_never_recorded_is_given_again() {
    let app = spawn_app().await;
    team_campaign(&app, json!({ "team_size": 2, "reward": { "points": 10 } })).await;
    let leader = app.customer_token("oTeamLeader0006").await;
    let code = new_team(&app, &leader).await;
    // A join whose request died after the store step: the store holds seat 2, the database does not.
    let leader_id = leader_id(&app, &code).await;
    store_says(&app, &code, vec![(1, leader_id), (2, 999_999)]).await;
    let friend = app.customer_token("oTeamFriend0008").await;
    assert_eq!(
        join(&app, &friend, &code, "phantom-join-1").await.status(),
        200
    );
    assert_eq!(team_status(&app, &code).await, "complete");
    assert_eq!(app.points_balance(&friend).await, 10);
}

#[tokio::test]
async fn a_team_whose_reward_cannot_be_paid_keeps_its_seats_and_stops_no_other_team() {
    let app = spawn_app().await;
    // The reward's pool does not exist: completing fails, but the seat stands and the job goes on.
    team_campaign(
        &app,
        json!({ "team_size": 2, "window_hours": 1, "reward": { "chances": 1, "pool": "no-such-pool" },
                "consolation": { "points": 3 } }),
    )
    .await;
    let broken_leader = app.customer_token("oTeamLeader0007").await;
    let broken = new_team(&app, &broken_leader).await;
    let friend = app.customer_token("oTeamFriend0009").await;
    assert_eq!(
        join(&app, &friend, &broken, "broken-join-1").await.status(),
        200
    );
    assert_eq!(seats(&app, &broken).await.len(), 2);
    assert_eq!(team_status(&app, &broken).await, "open");
    // Another team of the activity, unfilled, expires with its consolation past the broken one.
    let lonely_leader = app.customer_token("oTeamLeader0008").await;
    let lonely = new_team(&app, &lonely_leader).await;
    app.clock.advance(Duration::hours(2));
    Scheduler::new(app.state.clone()).run_due().await.unwrap();
    assert_eq!(team_status(&app, &lonely).await, "expired");
    assert_eq!(app.points_balance(&lonely_leader).await, 3);
    // And the broken one expires at its end too, paying what it can: its consolation.
    assert_eq!(team_status(&app, &broken).await, "expired");
    assert_eq!(app.points_balance(&friend).await, 3);
}

#[tokio::test]
async fn outside_its_activity_window_a_team_is_neither_made_nor_joined() {
    let app = spawn_app().await;
    // The demo's family team runs 2026-01-20 to 2026-03-01; its campaign, Q1, until 2026-04-01.
    app.demo_year_at("2026-02-20 10:00").await;
    let leader = app.customer_token("oFamilyLeader02").await;
    let made = create_team(&app, &leader, "q1-2026-spring", "family-team").await;
    assert_eq!(made.status(), 201);
    let code = made.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    app.demo_year_at("2026-03-10 10:00").await;
    let late = app.customer_token("oFamilyMember99").await;
    let joined = join(&app, &late, &code, "late-family-join").await;
    assert_eq!(joined.status(), 409);
    assert_eq!(error_code(joined).await, "activity_not_live");
    let other = app.customer_token("oFamilyLeader03").await;
    let refused = create_team(&app, &other, "q1-2026-spring", "family-team").await;
    assert_eq!(error_code(refused).await, "activity_not_live");
    assert_eq!(seats(&app, &code).await.len(), 1);
}
