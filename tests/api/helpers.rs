#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Duration;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait};
use secrecy::SecretString;
use serde_json::{json, Value};
use wxcampaign::audit::Actor;
use wxcampaign::auth::Role;
use wxcampaign::clock::{Clock, ManualClock};
use wxcampaign::config::{ConfigSource, Environment, Settings};
use wxcampaign::points::service::{self as points, PointsChange};
use wxcampaign::staff::{self, NewStaff};
use wxcampaign::startup::Application;
use wxcampaign::store::{MemoryStore, RedisStore, SharedStore};
use wxcampaign::{db, entities, telemetry};

use crate::fake_wechat::FakeWeChat;

pub const STAFF_PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub db: DatabaseConnection,
    pub store: SharedStore,
    pub settings: Settings,
    pub api: reqwest::Client,
    pub wechat: Arc<FakeWeChat>,
    pub state: wxcampaign::state::AppState,
    /// The app's clock: tests move it instead of sleeping.
    pub clock: Arc<ManualClock>,
    handle: actix_web::dev::ServerHandle,
}

pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// Test settings through the real loader: `config/base.toml` + `config/test.toml` + overrides.
pub fn test_settings(overrides: &[(&str, &str)]) -> Settings {
    let mut map: HashMap<String, String> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.entry("APP__APPLICATION__PORT".into())
        .or_insert_with(|| "0".into());
    Settings::load(&ConfigSource {
        config_dir: config_dir(),
        environment: Environment::Test,
        overrides: map,
    })
    .expect("test settings load")
}

/// A fresh, empty database: a SQLite temp file, or a new PostgreSQL database when TEST_DATABASE_URL is set.
pub async fn fresh_database_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) => {
            let name = format!("wxc_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL answers");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let base = admin_url
                .rsplit_once('/')
                .map(|(base, _)| base)
                .unwrap_or(&admin_url);
            format!("{base}/{name}")
        }
        Err(_) => {
            let path =
                std::env::temp_dir().join(format!("wxc-test-{}.db", uuid::Uuid::new_v4().simple()));
            format!("sqlite://{}?mode=rwc", path.display())
        }
    }
}

pub fn random_prefix() -> String {
    format!("wxct_{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A fresh store: memory, or Redis under a random key prefix when TEST_REDIS_URL is set.
pub async fn fresh_store(prefix: &str) -> SharedStore {
    fresh_store_on(prefix, Arc::new(wxcampaign::clock::SystemClock)).await
}

/// A fresh store whose memory backend's expiries follow `clock` (Redis keeps its own time).
pub async fn fresh_store_on(prefix: &str, clock: wxcampaign::clock::SharedClock) -> SharedStore {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) => Arc::new(
            RedisStore::connect(&url, prefix)
                .await
                .expect("TEST_REDIS_URL answers"),
        ),
        Err(_) => Arc::new(MemoryStore::with_clock(prefix, clock)),
    }
}

/// A fresh store and a way to let time pass for it: the memory store follows a manual clock, moved without
/// sleeping; Redis keeps real time, so there time passes by sleeping.
pub struct ClockedStore {
    pub store: SharedStore,
    clock: Option<Arc<ManualClock>>,
}

impl ClockedStore {
    pub async fn new() -> Self {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let store = fresh_store_on(&random_prefix(), clock.clone()).await;
        let clock = std::env::var("TEST_REDIS_URL").is_err().then_some(clock);
        Self { store, clock }
    }

    pub async fn pass(&self, time: std::time::Duration) {
        match &self.clock {
            Some(clock) => clock.advance(chrono::Duration::from_std(time).expect("a short time")),
            None => tokio::time::sleep(time).await,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let prefix = random_prefix();
    spawn_app_on(overrides, &prefix, fresh_store(&prefix).await).await
}

/// An app on `store` (whose keys start with `prefix`), e.g. a Redis of the test's own.
pub async fn spawn_app_on(overrides: &[(&str, &str)], prefix: &str, store: SharedStore) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        telemetry::init(&test_settings(&[]).telemetry);
    }
    let wechat = Arc::new(FakeWeChat::start().await);
    let database_url = fresh_database_url().await;
    let wechat_uri = wechat.uri();
    let mut all: Vec<(&str, &str)> = vec![
        ("APP__DATABASE__URL", &database_url),
        ("APP__STORE__KEY_PREFIX", prefix),
        ("APP__WECHAT__API_BASE_URL", &wechat_uri),
    ];
    all.extend_from_slice(overrides);
    let settings = test_settings(&all);
    let database = db::connect(&settings.database)
        .await
        .expect("connect test database");
    db::migrate(&database).await.expect("migrate test database");
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    start(settings, database, store, wechat, clock).await
}

async fn start(
    settings: Settings,
    db: DatabaseConnection,
    store: SharedStore,
    wechat: Arc<FakeWeChat>,
    clock: Arc<ManualClock>,
) -> TestApp {
    let app = Application::build_with(settings.clone(), db.clone(), store.clone(), clock.clone())
        .await
        .expect("build application");
    let port = app.port();
    let handle = app.handle();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        db,
        store,
        settings,
        api: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        wechat,
        state,
        clock,
        handle,
    }
}

impl TestApp {
    /// Another instance on the same database and store, as behind a load balancer. With Redis it gets its own
    /// connection, so nothing is shared in-process but the database pool.
    pub async fn second_instance(&self) -> TestApp {
        let store = match std::env::var("TEST_REDIS_URL") {
            Ok(_) => fresh_store(&self.settings.store.key_prefix).await,
            Err(_) => self.store.clone(),
        };
        start(
            self.settings.clone(),
            self.db.clone(),
            store,
            self.wechat.clone(),
            self.clock.clone(),
        )
        .await
    }

    /// Another instance on the same database but an empty store, as after a Redis flush.
    pub async fn instance_with_empty_store(&self) -> TestApp {
        let store = fresh_store(&random_prefix()).await;
        start(
            self.settings.clone(),
            self.db.clone(),
            store,
            self.wechat.clone(),
            self.clock.clone(),
        )
        .await
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.api.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut request = self.api.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    /// Logs a customer in through dev login (created on first sight): the answer's `token` and `user`.
    pub async fn dev_login(&self, openid: &str) -> Value {
        let response = self
            .post_json("/api/v1/auth/dev-login", None, &json!({ "openid": openid }))
            .await;
        assert_eq!(response.status(), 200, "dev login");
        response.json().await.unwrap()
    }

    /// Logs a customer in through dev login; returns the token.
    pub async fn customer_token(&self, openid: &str) -> String {
        self.dev_login(openid).await["token"]["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The demo year (`cargo run`'s calendar and question banks), with the clock at `shanghai_time`.
    pub async fn demo_year_at(&self, shanghai_time: &str) {
        wxcampaign::startup::seed_demo(&self.db, &self.settings)
            .await
            .expect("demo data loads");
        self.clock
            .set(wxcampaign::calendar::parse_time(shanghai_time).expect("a Shanghai time"));
    }

    /// One draw from `pool` of `campaign` under `key`.
    pub async fn draw(
        &self,
        token: &str,
        campaign: &str,
        pool: &str,
        key: &str,
    ) -> reqwest::Response {
        self.api
            .post(self.url(&format!(
                "/api/v1/campaigns/{campaign}/lottery/{pool}/draws"
            )))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .send()
            .await
            .expect("request sent")
    }

    /// One draw as the mini-program makes it: a 503 (`store_rebuilding`: counters being rebuilt) is retried
    /// with the same key until another answer comes. Returns that answer's status and body.
    pub async fn draw_answered(
        &self,
        token: &str,
        campaign: &str,
        pool: &str,
        key: &str,
    ) -> (u16, Value) {
        let mut answer = (0, Value::Null);
        for _ in 0..100 {
            let response = self.draw(token, campaign, pool, key).await;
            answer = (
                response.status().as_u16(),
                response.json().await.unwrap_or(Value::Null),
            );
            if answer.0 != 503 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        answer
    }

    /// The campaign `lottery-test` with `pool`, made while it is upcoming and then moved live by the clock. Returns the operator token.
    pub async fn live_campaign(&self, pool: &Value) -> String {
        let operator = self.staff_token("olivia", Role::Operator).await;
        let base = self.clock.now();
        let at = |d: Duration| wxcampaign::calendar::shanghai(base + d);
        let campaign = json!({
            "slug": "lottery-test", "name": "年终感恩", "theme": "感恩", "year": 2026, "quarter": 4,
            "preheat_at": at(Duration::minutes(30)), "starts_at": at(Duration::hours(1)), "ends_at": at(Duration::days(30)),
            "rules_text": "抽奖规则", "prize_summary": "见抽奖页公示"
        });
        assert_eq!(
            self.post_json("/admin/v1/campaigns", Some(&operator), &campaign)
                .await
                .status(),
            201
        );
        let created = self
            .post_json(
                "/admin/v1/campaigns/lottery-test/pools",
                Some(&operator),
                pool,
            )
            .await;
        assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
        self.post_json(
            "/admin/v1/campaigns/lottery-test/schedule",
            Some(&operator),
            &json!({}),
        )
        .await;
        self.clock.advance(Duration::hours(2));
        operator
    }

    /// Creates `campaign` (starting within the next two hours) through the staff API, schedules it and moves the
    /// clock two hours on, so it is live.
    pub async fn launch_campaign(&self, operator: &str, campaign: &Value) {
        let created = self
            .post_json("/admin/v1/campaigns", Some(operator), campaign)
            .await;
        assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
        let slug = campaign["slug"].as_str().unwrap();
        let scheduled = self
            .post_json(
                &format!("/admin/v1/campaigns/{slug}/schedule"),
                Some(operator),
                &json!({}),
            )
            .await;
        assert_eq!(scheduled.status(), 200);
        self.clock.advance(Duration::hours(2));
    }

    /// What push workers and jobs deliver with, at the app clock's now.
    pub fn delivering(&self) -> wxcampaign::push::Delivering<'_> {
        wxcampaign::push::Delivering {
            db: &self.state.db,
            store: self.state.store.as_ref(),
            wechat: &self.state.wechat,
            settings: &self.state.settings.push,
            now: self.clock.now(),
        }
    }

    /// How many `customer_events` of `kind` (the outbox the task engine and segments read) are recorded.
    pub async fn count_events(&self, kind: &str) -> u64 {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        wxcampaign::entities::customer_events::Entity::find()
            .filter(wxcampaign::entities::customer_events::Column::Kind.eq(kind))
            .count(&self.db)
            .await
            .unwrap()
    }

    /// The user id of the customer `openid`.
    pub async fn customer_id(&self, openid: &str) -> i64 {
        self.customer(openid).await.0
    }

    /// The customer `openid`, logged in: their user id and token.
    pub async fn customer(&self, openid: &str) -> (i64, String) {
        let login = self.dev_login(openid).await;
        (
            login["user"]["id"].as_i64().unwrap(),
            login["token"]["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Gives a customer `points` (once per user: the grant's source reference is `seed:<user>`).
    pub async fn seed_points(&self, user_id: i64, points: i64) {
        let grant = PointsChange {
            user_id,
            delta: points,
            reason: "quiz_passed",
            source_ref: &format!("seed:{user_id}"),
            campaign: None,
        };
        points::record(&self.db, &grant, self.clock.now())
            .await
            .expect("seed points");
    }

    /// The customer's points balance, as they see it.
    pub async fn points_balance(&self, token: &str) -> i64 {
        let statement: Value = self
            .get("/api/v1/me/points", Some(token))
            .await
            .json()
            .await
            .unwrap();
        statement["balance"].as_i64().unwrap()
    }

    /// A staff points adjustment of `delta` (any JSON number) under `key`.
    pub async fn adjust_points(
        &self,
        staff_token: &str,
        user_id: i64,
        delta: &Value,
        key: &str,
    ) -> reqwest::Response {
        self.api
            .post(self.url("/admin/v1/points/adjustments"))
            .bearer_auth(staff_token)
            .header("idempotency-key", key)
            .json(&json!({ "user_id": user_id, "delta": delta }))
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a staff account as the CLI would.
    pub async fn create_staff(&self, username: &str, role: Role) {
        staff::create_staff(
            &self.db,
            &Actor::cli(),
            NewStaff {
                username: username.into(),
                role,
                password: SecretString::from(STAFF_PASSWORD),
            },
        )
        .await
        .expect("create staff");
    }

    pub async fn staff_login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/admin/v1/login",
            None,
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    /// A staff account of `role`, logged in; returns the token.
    pub async fn staff_token(&self, username: &str, role: Role) -> String {
        self.create_staff(username, role).await;
        let response = self.staff_login(username, STAFF_PASSWORD).await;
        assert_eq!(response.status(), 200, "staff login");
        let body: Value = response.json().await.unwrap();
        body["token"]["token"].as_str().unwrap().to_owned()
    }

    /// `count` customers who follow the official account and use the mini-program, made in one statement a
    /// thousand (the real rows a login makes), openids `oMp<prefix>000000`, `oOa<prefix>000000`... Returns
    /// their ids.
    pub async fn followers(&self, prefix: &str, count: usize) -> Vec<i64> {
        use entities::users;
        use sea_orm::{ColumnTrait, QueryFilter, Set};
        let now = self.clock.now();
        let rows: Vec<users::ActiveModel> = (0..count)
            .map(|n| users::ActiveModel {
                mp_openid: Set(Some(format!("oMp{prefix}{n:06}"))),
                oa_openid: Set(Some(format!("oOa{prefix}{n:06}"))),
                oa_following: Set(true),
                followed_at: Set(Some(now)),
                created_at: Set(now),
                last_active_at: Set(now),
                ..Default::default()
            })
            .collect();
        for chunk in rows.chunks(1000) {
            users::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&self.db)
                .await
                .unwrap();
        }
        users::Entity::find()
            .filter(users::Column::MpOpenid.starts_with(format!("oMp{prefix}")))
            .all(&self.db)
            .await
            .unwrap()
            .into_iter()
            .map(|user| user.id)
            .collect()
    }

    pub async fn count_users(&self) -> u64 {
        entities::users::Entity::find()
            .count(&self.db)
            .await
            .unwrap()
    }

    pub async fn count_audit_entries(&self) -> u64 {
        entities::audit_log::Entity::find()
            .count(&self.db)
            .await
            .unwrap()
    }
}

/// The `{"code": ...}` of an error response.
pub async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("error body is JSON");
    body["code"].as_str().expect("error has a code").to_owned()
}
