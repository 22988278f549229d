use std::process::Command;

use chrono::{Duration, Utc};
use futures::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use wxcampaign::audit::Actor;
use wxcampaign::auth::Role;
use wxcampaign::calendar::shanghai;
use wxcampaign::campaigns::service;
use wxcampaign::clock::Clock;
use wxcampaign::entities::{campaigns, job_runs};
use wxcampaign::jobs::Scheduler;
use wxcampaign::planning::import;

use crate::helpers::{
    config_dir, error_code, fresh_database_url, spawn_app, test_settings, TestApp,
};

fn demo_file() -> std::path::PathBuf {
    config_dir().join("calendar/2026.toml")
}

/// A campaign whose windows start `offset` from the app's clock: preheat at +1 h, live at +2 h, end at +30 days.
fn campaign(app: &TestApp, slug: &str, offset: Duration) -> Value {
    let base = app.clock.now() + offset;
    let at = |d: Duration| shanghai(base + d);
    json!({
        "slug": slug, "name": "测试活动", "theme": "主题", "year": 2026, "quarter": 4,
        "preheat_at": at(Duration::hours(1)), "starts_at": at(Duration::hours(2)), "ends_at": at(Duration::days(30)),
        "rules_text": "活动规则", "prize_summary": "奖品公示",
        "activities": [{ "slug": "quiz", "kind": "quiz", "name": "答题", "starts_at": at(Duration::hours(2)),
                         "ends_at": at(Duration::days(10)), "config": { "bank": "demo", "levels": [{ "name": "第一关", "questions": 3, "seconds_per_question": 20, "pass_score": 2 }] } }]
    })
}

async fn status_of(app: &TestApp, slug: &str) -> String {
    campaigns::Entity::find()
        .filter(campaigns::Column::Slug.eq(slug))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn the_calendar_file_imports_idempotently() {
    let app = spawn_app().await;
    let inputs = import::read(&demo_file()).expect("the shipped calendar is valid");
    assert_eq!(inputs.campaigns.len(), 4);
    let now = Utc::now();
    let dry = wxcampaign::planning::service::import(&app.db, &Actor::cli(), &inputs, false, now)
        .await
        .unwrap();
    assert!(dry.iter().all(|c| matches!(
        c,
        wxcampaign::planning::service::Change::Create(_)
            | wxcampaign::planning::service::Change::CreateTemplate(_)
    )));
    assert_eq!(
        campaigns::Entity::find().count(&app.db).await.unwrap(),
        0,
        "a dry run applies nothing"
    );

    wxcampaign::planning::service::import(&app.db, &Actor::cli(), &inputs, true, now)
        .await
        .unwrap();
    let audited = app.count_audit_entries().await;
    let again = wxcampaign::planning::service::import(&app.db, &Actor::cli(), &inputs, true, now)
        .await
        .unwrap();
    assert!(
        again.iter().all(|c| matches!(
            c,
            wxcampaign::planning::service::Change::Unchanged(_)
                | wxcampaign::planning::service::Change::UnchangedTemplate(_)
        )),
        "{again:?}"
    );
    assert_eq!(
        app.count_audit_entries().await,
        audited,
        "twice = no change"
    );
    assert_eq!(campaigns::Entity::find().count(&app.db).await.unwrap(), 4);
}

fn wxcampaign_cli(args: &[&str], database_url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wxcampaign"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_CONFIG_DIR", config_dir())
        .env("APP_ENVIRONMENT", "test")
        .env("APP__DATABASE__URL", database_url)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_cli_previews_applies_and_refuses_a_broken_file_whole() {
    let database_url = fresh_database_url().await;
    let file = demo_file();
    let file = file.to_str().unwrap();
    let preview = wxcampaign_cli(&["calendar", "import", file], &database_url);
    assert!(preview.status.success());
    let text = String::from_utf8_lossy(&preview.stdout);
    assert!(
        text.contains("+ create q4-2026-thanks") && text.contains("nothing applied"),
        "{text}"
    );
    // Follow-for-reward is built as the bank asked, and the compliance staff are told which rule it touches.
    let warnings = String::from_utf8_lossy(&preview.stderr);
    assert!(
        warnings.contains("warning: q3-2026-autumn/mid-autumn-invite")
            && warnings.contains("诱导关注"),
        "{warnings}"
    );
    assert!(
        wxcampaign_cli(&["calendar", "import", file, "--apply"], &database_url)
            .status
            .success()
    );
    let again = wxcampaign_cli(&["calendar", "import", file, "--apply"], &database_url);
    let again = String::from_utf8_lossy(&again.stdout);
    assert_eq!(
        again.matches("= unchanged coupon template").count(),
        6,
        "{again}"
    );
    assert_eq!(again.matches("= unchanged").count(), 10, "{again}");

    let broken =
        std::env::temp_dir().join(format!("broken-{}.toml", uuid::Uuid::new_v4().simple()));
    let text = std::fs::read_to_string(demo_file())
        .unwrap()
        .replace("factor_percent = 200", "factor_percent = 5000")
        .replace(r#"kind = "calculator""#, r#"kind = "karaoke""#);
    std::fs::write(&broken, &text).unwrap();
    let refused = wxcampaign_cli(
        &["calendar", "import", broken.to_str().unwrap(), "--apply"],
        &database_url,
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("{}:", broken.display())) && stderr.contains("karaoke"),
        "{stderr}"
    );
    let fixed = text.replace(r#"kind = "karaoke""#, r#"kind = "calculator""#);
    std::fs::write(&broken, &fixed).unwrap();
    let refused = wxcampaign_cli(
        &["calendar", "import", broken.to_str().unwrap(), "--apply"],
        &database_url,
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let line = fixed
        .lines()
        .position(|l| l.contains("factor_percent = 5000"))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!(
            ":{line}: campaigns[3].activities[1].config: factor_percent"
        )),
        "{stderr}"
    );
}

#[test]
fn a_calendar_that_rewards_a_share_is_refused_whatever_the_config_calls_it() {
    let demo = std::fs::read_to_string(demo_file()).unwrap();
    let rewarding_a_share = [
        // A task that is a share.
        (r#""制作一张元宵祝福卡""#, r#""分享活动页面""#),
        // A poster whose share earns chances.
        (
            r#"template = "year-bill-2026", "#,
            r#"template = "year-bill-2026", chances_per_share = 1, "#,
        ),
        // A team whose reward is triggered by sharing.
        (
            r#"reward = { points = 200, chances = 1, pool = "spring-lottery-2026" }"#,
            r#"reward = { points = 200, chances = 1, pool = "spring-lottery-2026" }, on = "share""#,
        ),
        // 助力 by any name.
        (r#""完成情侣理财问答""#, r#""邀请好友助力""#),
    ];
    for (fine, forbidden) in rewarding_a_share {
        assert!(demo.contains(fine), "{fine}");
        let text = demo.replace(fine, forbidden);
        let errors = wxcampaign::planning::import::parse("2026.toml", &text).unwrap_err();
        assert!(
            errors.iter().any(|e| e.contains("rewards a share")),
            "{forbidden}: {errors:?}"
        );
    }
    assert!(wxcampaign::planning::import::parse("2026.toml", &demo).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fresh_start_with_demo_data_lists_the_demo_calendar() {
    let database_url = fresh_database_url().await;
    let settings = test_settings(&[
        ("APP__DATABASE__URL", &database_url),
        ("APP__DEMO__SEED", "true"),
    ]);
    let app = wxcampaign::startup::Application::build(settings)
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let calendar: Value = reqwest::get(format!("{address}/api/v1/calendar"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = calendar["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    // Live and upcoming only: whatever of the 2026 plan has not ended yet, soonest first.
    let expected: Vec<String> = import::read(&demo_file())
        .unwrap()
        .campaigns
        .into_iter()
        .filter(|c| wxcampaign::calendar::parse_time(&c.ends_at).unwrap() > Utc::now())
        .map(|c| c.slug)
        .collect();
    assert_eq!(listed, expected);
    // The year-end lottery was published with its campaign: its odds are public.
    let odds = reqwest::get(format!(
        "{address}/api/v1/campaigns/q4-2026-thanks/lottery/year-end-2026/odds"
    ))
    .await
    .unwrap();
    assert_eq!(odds.status(), 200);
    let odds: Value = odds.json().await.unwrap();
    assert_eq!(odds["prizes"][0]["name"], "品牌65英寸电视");
    let db =
        wxcampaign::db::connect(&test_settings(&[("APP__DATABASE__URL", &database_url)]).database)
            .await
            .unwrap();
    assert_eq!(campaigns::Entity::find().count(&db).await.unwrap(), 4);
}

async fn staff(app: &TestApp) -> String {
    app.staff_token("olivia", Role::Operator).await
}

async fn create_and_schedule(app: &TestApp, token: &str, body: &Value) {
    let created = app
        .post_json("/admin/v1/campaigns", Some(token), body)
        .await;
    assert_eq!(created.status(), 201);
    let slug = body["slug"].as_str().unwrap();
    let scheduled = app
        .post_json(
            &format!("/admin/v1/campaigns/{slug}/schedule"),
            Some(token),
            &json!({}),
        )
        .await;
    assert_eq!(scheduled.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moving_the_clock_moves_a_campaign_through_its_lifecycle() {
    let app = spawn_app().await;
    let token = staff(&app).await;
    let body = campaign(&app, "lifecycle-test", Duration::zero());
    let created = app
        .post_json("/admin/v1/campaigns", Some(&token), &body)
        .await;
    assert_eq!(created.status(), 201);
    let public = app.get("/api/v1/campaigns/lifecycle-test", None).await;
    assert_eq!(public.status(), 404, "drafts are not public");
    app.post_json(
        "/admin/v1/campaigns/lifecycle-test/schedule",
        Some(&token),
        &json!({}),
    )
    .await;
    let scheduler = Scheduler::new(app.state.clone());

    for (advance, expected) in [
        (Duration::minutes(30), "scheduled"),
        (Duration::minutes(31), "preheat"),
        (Duration::hours(1), "live"),
        (Duration::days(30), "ended"),
    ] {
        app.clock.advance(advance);
        scheduler.run_due().await.unwrap();
        assert_eq!(status_of(&app, "lifecycle-test").await, expected);
        if expected != "ended" {
            let public: Value = app
                .get("/api/v1/campaigns/lifecycle-test", None)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(public["status"], expected);
        }
    }
    let lifecycle_runs = job_runs::Entity::find()
        .filter(job_runs::Column::Job.starts_with("campaign.lifecycle:lifecycle-test"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(lifecycle_runs, 3);
}

/// Two instances on one database and store, an operator's token, and a campaign `slug` that is due to be live.
async fn two_instances_with_live_campaign(slug: &str) -> (TestApp, TestApp, String) {
    let first = spawn_app().await;
    let second = first.second_instance().await;
    let token = staff(&first).await;
    create_and_schedule(&first, &token, &campaign(&first, slug, -Duration::hours(3))).await;
    (first, second, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_fire_each_job_once_including_across_a_restart() {
    let (first, second, _) = two_instances_with_live_campaign("twin-test").await;

    // Both instances' schedulers race for the same due firings.
    let (a, b) = (
        Scheduler::new(first.state.clone()),
        Scheduler::new(second.state.clone()),
    );
    let fired: Vec<Vec<String>> = join_all([a.run_due(), b.run_due()])
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let all: Vec<&String> = fired.iter().flatten().collect();
    let unique: std::collections::HashSet<&&String> = all.iter().collect();
    assert_eq!(all.len(), unique.len(), "no firing ran twice: {fired:?}");
    assert!(
        all.iter()
            .any(|f| f.starts_with("campaign.lifecycle:twin-test:live")),
        "{all:?}"
    );
    assert_eq!(status_of(&first, "twin-test").await, "live");

    // Every instance is down while three minutes pass; one restarts and catches up, the other then finds nothing.
    drop((a, b));
    second.stop().await;
    first.clock.advance(Duration::minutes(3));
    let restarted = first.second_instance().await;
    let caught_up = Scheduler::new(restarted.state.clone())
        .run_due()
        .await
        .unwrap();
    let minute_firings = caught_up
        .iter()
        .filter(|f| f.starts_with("campaigns.sync_pause_flags"))
        .count();
    assert_eq!(minute_firings, 3, "{caught_up:?}");
    let late = Scheduler::new(first.state.clone()).run_due().await.unwrap();
    assert!(late.is_empty(), "{late:?}");

    let runs = job_runs::Entity::find().all(&first.db).await.unwrap();
    let mut keys: Vec<(String, i64)> = runs
        .iter()
        .map(|r| (r.job.clone(), r.scheduled_for.timestamp()))
        .collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), total, "one row per job and scheduled time");
    assert!(runs.iter().all(|r| r.status == "succeeded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_reaches_another_instance_at_once_and_resume_restores() {
    let (first, second, token) = two_instances_with_live_campaign("pause-test").await;

    let paused = first
        .post_json(
            "/admin/v1/campaigns/pause-test/pause",
            Some(&token),
            &json!({ "reason": "奖品库存异常，排查中" }),
        )
        .await;
    assert_eq!(paused.status(), 200);
    // The other instance reads the same store flag that grant-type actions check inside their atomic step.
    assert!(second.store.is_paused("pause-test").await.unwrap());
    let public: Value = second
        .get("/api/v1/campaigns/pause-test", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["paused"], true);

    let again = first
        .post_json(
            "/admin/v1/campaigns/pause-test/pause",
            Some(&token),
            &json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(again.status(), 409);
    let no_reason = first
        .post_json(
            "/admin/v1/campaigns/pause-test/resume",
            Some(&token),
            &json!({ "reason": " " }),
        )
        .await;
    assert_eq!(no_reason.status(), 400);
    assert!(
        second.store.is_paused("pause-test").await.unwrap(),
        "a refused resume changes nothing"
    );

    let resumed = second
        .post_json(
            "/admin/v1/campaigns/pause-test/resume",
            Some(&token),
            &json!({ "reason": "已修复" }),
        )
        .await;
    assert_eq!(resumed.status(), 200);
    assert!(!first.store.is_paused("pause-test").await.unwrap());

    // A store that lost its flags (flush, restart) gets them back from the database.
    first
        .post_json(
            "/admin/v1/campaigns/pause-test/pause",
            Some(&token),
            &json!({ "reason": "再次暂停" }),
        )
        .await;
    first.store.set_paused("pause-test", false).await.unwrap();
    service::sync_pause_flags(&first.db, first.store.as_ref())
        .await
        .unwrap();
    assert!(second.store.is_paused("pause-test").await.unwrap());
}

#[tokio::test]
async fn every_staff_write_is_audited_with_actor_before_and_after() {
    let app = spawn_app().await;
    let token = staff(&app).await;
    let mut body = campaign(&app, "audit-test", Duration::days(1));
    create_and_schedule(&app, &token, &body).await;
    body["rules_text"] = json!("修订后的活动规则");
    let put = app
        .api
        .put(app.url("/admin/v1/campaigns/audit-test"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    app.post_json(
        "/admin/v1/campaigns/audit-test/pause",
        Some(&token),
        &json!({ "reason": "检查" }),
    )
    .await;
    app.post_json(
        "/admin/v1/campaigns/audit-test/resume",
        Some(&token),
        &json!({ "reason": "恢复" }),
    )
    .await;

    let auditor = app.staff_token("audrey", Role::Auditor).await;
    let audit: Value = app
        .get(
            "/admin/v1/audit?target_type=campaign&target_id=audit-test",
            Some(&auditor),
        )
        .await
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "campaign.create",
            "campaign.schedule",
            "campaign.update",
            "campaign.pause",
            "campaign.resume"
        ]
    );
    assert!(entries.iter().all(|e| e["actor"] == "olivia"));
    let update = entries
        .iter()
        .find(|e| e["action"] == "campaign.update")
        .unwrap();
    assert_eq!(update["before"]["rules_text"], "活动规则");
    assert_eq!(update["after"]["rules_text"], "修订后的活动规则");
    let pause = entries
        .iter()
        .find(|e| e["action"] == "campaign.pause")
        .unwrap();
    assert_eq!(
        (pause["reason"].as_str(), pause["after"]["paused"].as_bool()),
        (Some("检查"), Some(true))
    );
}

#[tokio::test]
async fn bad_campaigns_and_forbidden_edits_are_refused_with_no_change() {
    let app = spawn_app().await;
    let token = staff(&app).await;
    let live = campaign(&app, "live-test", -Duration::hours(3));
    create_and_schedule(&app, &token, &live).await;
    Scheduler::new(app.state.clone()).run_due().await.unwrap();
    assert_eq!(status_of(&app, "live-test").await, "live");
    let manager = app.staff_token("carl", Role::CommunityManager).await;
    let before_audit = app.count_audit_entries().await;

    let mut inverted = campaign(&app, "inverted", Duration::days(60));
    inverted["ends_at"] = inverted["preheat_at"].clone();
    let mut unknown_kind = campaign(&app, "unknown-kind", Duration::days(60));
    unknown_kind["activities"][0]["kind"] = json!("karaoke");
    let mut bad_config = campaign(&app, "bad-config", Duration::days(60));
    bad_config["activities"][0]["config"] = json!({ "bank": "demo", "levels": [] });
    let overlapping = campaign(&app, "overlapping", Duration::days(1));
    for (body, status, code) in [
        (inverted, 400, "invalid_campaign"),
        (unknown_kind, 400, "invalid_field"),
        (bad_config, 400, "invalid_campaign"),
        (overlapping, 409, "window_overlap"),
    ] {
        let response = app
            .post_json("/admin/v1/campaigns", Some(&token), &body)
            .await;
        assert_eq!(response.status(), status, "{}", body["slug"]);
        assert_eq!(error_code(response).await, code, "{}", body["slug"]);
    }

    let mut new_rules = live.clone();
    new_rules["rules_text"] = json!("活动进行中偷偷改规则");
    let put = app
        .api
        .put(app.url("/admin/v1/campaigns/live-test"))
        .bearer_auth(&token)
        .json(&new_rules)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 409);
    assert_eq!(error_code(put).await, "campaign_live");
    let forbidden = app
        .post_json(
            "/admin/v1/campaigns/live-test/pause",
            Some(&manager),
            &json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(app.count_audit_entries().await, before_audit);
    assert_eq!(campaigns::Entity::find().count(&app.db).await.unwrap(), 1);

    // A live campaign's name may still change.
    let mut renamed = live.clone();
    renamed["name"] = json!("新名字");
    let put = app
        .api
        .put(app.url("/admin/v1/campaigns/live-test"))
        .bearer_auth(&token)
        .json(&renamed)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
}

/// Two instances may run one campaign's steps in either order: the later status wins, never the earlier.
#[tokio::test]
async fn lifecycle_steps_applied_out_of_order_never_move_a_campaign_back() {
    use wxcampaign::calendar::Status;
    use wxcampaign::campaigns::lifecycle::{self, Transition};
    let app = spawn_app().await;
    let token = staff(&app).await;
    create_and_schedule(
        &app,
        &token,
        &campaign(&app, "order-test", -Duration::hours(3)),
    )
    .await;
    let id = campaigns::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let step = |from, to| Transition {
        campaign_id: id,
        slug: "order-test".into(),
        from,
        to,
        at: Utc::now(),
    };
    lifecycle::apply(&app.db, &step(Status::Preheat, Status::Live))
        .await
        .unwrap();
    assert_eq!(
        status_of(&app, "order-test").await,
        "live",
        "the later step applies from an earlier state"
    );
    lifecycle::apply(&app.db, &step(Status::Scheduled, Status::Preheat))
        .await
        .unwrap();
    assert_eq!(
        status_of(&app, "order-test").await,
        "live",
        "the earlier step arriving late changes nothing"
    );
}

/// A pool added in the file to a campaign that already exists is refused, not silently skipped.
#[tokio::test]
async fn an_import_refuses_a_new_pool_for_an_existing_campaign() {
    let app = spawn_app().await;
    let mut inputs = import::read(&demo_file()).unwrap();
    wxcampaign::planning::service::import(&app.db, &Actor::cli(), &inputs, true, Utc::now())
        .await
        .unwrap();
    let mut extra = inputs.campaigns[3].pools[0].clone();
    extra.slug = "added-later".into();
    inputs.campaigns[3].pools.push(extra);
    let problems = refused_import(&app, &inputs).await;
    assert_eq!(problems[0].field, "campaigns[3].pools[1]");
    assert_eq!(
        wxcampaign::entities::prize_pools::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        3
    );
}

/// A coupon template the file changes is refused: coupons were issued on the stored terms.
#[tokio::test]
async fn an_import_refuses_a_coupon_template_whose_terms_changed() {
    let app = spawn_app().await;
    let mut calendar = import::read(&demo_file()).unwrap();
    wxcampaign::planning::service::import(&app.db, &Actor::cli(), &calendar, true, Utc::now())
        .await
        .unwrap();
    let audited = app.count_audit_entries().await;
    calendar.coupon_templates[2].value_fen += 100;
    let problems = refused_import(&app, &calendar).await;
    assert_eq!(problems[0].field, "coupon_templates[2]");
    assert!(problems[0].message.contains("other terms"), "{problems:?}");
    let stored = wxcampaign::entities::coupon_templates::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 6);
    assert!(stored
        .iter()
        .all(|t| t.value_fen != calendar.coupon_templates[2].value_fen));
    assert_eq!(app.count_audit_entries().await, audited, "nothing applied");

    // A validity that is not a time is refused as such, not taken for "the same".
    let mut calendar = import::read(&demo_file()).unwrap();
    calendar.coupon_templates[0].valid_days = None;
    calendar.coupon_templates[0].valid_until = Some("not a time".into());
    let problems = refused_import(&app, &calendar).await;
    assert_eq!(problems[0].field, "coupon_templates[0]");
    assert!(problems[0].message.contains("valid_until"), "{problems:?}");
}

/// The problems an import of `calendar` is refused with (it must be refused, as invalid).
async fn refused_import(
    app: &crate::helpers::TestApp,
    calendar: &import::Calendar,
) -> Vec<wxcampaign::calendar::FieldError> {
    let refused =
        wxcampaign::planning::service::import(&app.db, &Actor::cli(), calendar, true, Utc::now())
            .await
            .unwrap_err();
    let wxcampaign::campaigns::service::CampaignError::Invalid(problems) = refused else {
        panic!("{refused:?}")
    };
    problems
}
