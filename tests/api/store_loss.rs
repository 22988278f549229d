//! A lost store loses nothing and oversells nothing: emptied in the middle of load (twice), come back stale, or
//! not answering. On memory a lost store is a new, empty store on the same database (another instance); on Redis
//! the instance's own keys are deleted under it, as a FLUSHDB or an eviction would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use tokio::sync::{RwLock, Semaphore};
use wxcampaign::entities::{draw_records, prize_pools, prizes};
use wxcampaign::lottery::service::grant_chances;
use wxcampaign::store::lottery::{CounterValue, Hydration, Scope};

use crate::helpers::{error_code, random_prefix, spawn_app, spawn_app_on, TestApp};

const CAMPAIGN: &str = "lottery-test";
const POOL: &str = "year-end";

async fn pool_id(app: &TestApp) -> i64 {
    prize_pools::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn prize_id(app: &TestApp, slug: &str) -> i64 {
    prizes::Entity::find()
        .filter(prizes::Column::Slug.eq(slug))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// `count` customers, each granted `chances` in the pool: their tokens and ids.
async fn customers(app: &TestApp, count: usize, chances: u32) -> Vec<(i64, String)> {
    let pool = pool_id(app).await;
    let mut customers = Vec::with_capacity(count);
    for n in 0..count {
        let (id, token) = app.customer(&format!("oStoreLoss{n:05}")).await;
        let source = format!("test:{id}");
        grant_chances(
            app.state.context(),
            id,
            CAMPAIGN,
            pool,
            "test",
            &source,
            chances,
        )
        .await
        .unwrap();
        customers.push((id, token));
    }
    customers
}

/// Empties the store `app` runs on: on Redis its keys are deleted under the running instance; on memory the
/// answer is a new instance on the same database with an empty store, which takes the traffic from now on.
async fn empty_the_store(app: &TestApp) -> Option<TestApp> {
    let Ok(url) = std::env::var("TEST_REDIS_URL") else {
        return Some(app.instance_with_empty_store().await);
    };
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!("{}:*", app.settings.store.key_prefix);
    // SCAN, not KEYS: one KEYS over a big shared Redis can outlast the client's response timeout.
    let keys: Vec<String> = {
        use futures::StreamExt;
        use redis::AsyncCommands;
        let mut scan = conn.clone();
        let found: redis::AsyncIter<'_, String> = scan.scan_match(&pattern).await.unwrap();
        found.map(|key| key.unwrap()).collect().await
    };
    for batch in keys.chunks(500) {
        let _: i64 = redis::cmd("DEL")
            .arg(batch)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    None
}

fn mixed_pool() -> Value {
    json!({
        "slug": POOL, "name": "年终抽奖", "kind": "lottery", "daily_free_chances": 0,
        "prizes": [
            { "slug": "gift", "name": "礼盒", "tier": 1, "kind": "points", "points": 100, "weight_bp": 3000,
              "stock": 15, "per_user_total": 1 },
            { "slug": "daily", "name": "每日积分", "tier": 2, "kind": "points", "points": 10, "weight_bp": 3000,
              "per_user_daily": 2 },
            { "slug": "thanks", "name": "谢谢参与", "tier": 9, "kind": "thanks", "weight_bp": 4000 }
        ]
    })
}

/// Hundreds of concurrent draws through HTTP, the store emptied after a third of them and again after two
/// thirds: no more wins than the stock, no customer above a limit or their chances, every prize answered has
/// its record, and nothing is lost (the whole stock is sold).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn draws_with_the_store_emptied_twice_in_the_middle_oversell_nothing_and_lose_nothing() {
    const CUSTOMERS: usize = 40;
    const CHANCES: u32 = 8;
    let app = spawn_app().await;
    app.live_campaign(&mixed_pool()).await;
    let customers = customers(&app, CUSTOMERS, CHANCES).await;
    let total = CUSTOMERS * CHANCES as usize;

    let first = Arc::new(app);
    let serving: Arc<RwLock<Arc<TestApp>>> = Arc::new(RwLock::new(first.clone()));
    let done = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(Semaphore::new(32));
    let mut draws = Vec::with_capacity(total);
    for round in 0..CHANCES {
        for (user, token) in &customers {
            let (serving, done, in_flight) = (serving.clone(), done.clone(), in_flight.clone());
            let (user, token) = (*user, token.clone());
            draws.push(tokio::spawn(async move {
                let _permit = in_flight.acquire().await.unwrap();
                let key = format!("loss-draw-{user:06}-{round}");
                // A 503 says "retry": the customer's client retries with the same key, as the mini-program does.
                let (mut status, mut body) = (0, Value::Null);
                for _ in 0..100 {
                    let app = serving.read().await.clone();
                    let response = app.draw(&token, CAMPAIGN, POOL, &key).await;
                    status = response.status().as_u16();
                    body = response.json().await.unwrap_or(Value::Null);
                    if status != 503 {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                done.fetch_add(1, Ordering::SeqCst);
                (user, status, body)
            }));
        }
    }
    let emptier = {
        let (serving, done, first) = (serving.clone(), done.clone(), first.clone());
        tokio::spawn(async move {
            let mut instances = Vec::new();
            for threshold in [total / 3, 2 * total / 3] {
                while done.load(Ordering::SeqCst) < threshold {
                    tokio::task::yield_now().await;
                }
                let current = serving.read().await.clone();
                if let Some(fresh) = empty_the_store(&current).await {
                    let fresh = Arc::new(fresh);
                    *serving.write().await = fresh.clone();
                    instances.push(fresh);
                }
            }
            drop(first);
            instances.len()
        })
    };
    let answers: Vec<(i64, u16, Value)> = join_all(draws)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    emptier.await.unwrap();
    let app = first;

    let mut by_status: HashMap<(u16, String), usize> = HashMap::new();
    for (_, status, body) in &answers {
        let code = body["code"].as_str().unwrap_or("").to_owned();
        *by_status.entry((*status, code)).or_default() += 1;
    }
    // An unlimited "thanks" is always left: every draw, retried past any 503, wins something.
    assert_eq!(
        by_status.keys().collect::<Vec<_>>(),
        vec![&(200, String::new())],
        "{by_status:?}"
    );
    let records = draw_records::Entity::find().all(&app.db).await.unwrap();
    let (gift, daily) = (prize_id(&app, "gift").await, prize_id(&app, "daily").await);
    assert_eq!(
        records.iter().filter(|r| r.prize_id == gift).count(),
        15,
        "the whole stock of 15 is sold, and not one more: {by_status:?}"
    );
    let mut per_user: HashMap<i64, (usize, usize, usize)> = HashMap::new();
    for record in &records {
        let entry = per_user.entry(record.user_id).or_default();
        entry.0 += 1;
        entry.1 += usize::from(record.prize_id == gift);
        entry.2 += usize::from(record.prize_id == daily);
    }
    assert_eq!(per_user.len(), CUSTOMERS);
    for (user, (draws, gifts, dailies)) in &per_user {
        assert_eq!(
            *draws, CHANCES as usize,
            "customer {user} drew {draws} on {CHANCES} chances: none lost, none spent twice"
        );
        assert!(
            *gifts <= 1,
            "customer {user} won the gift {gifts} times (limit 1)"
        );
        assert!(
            *dailies <= 2,
            "customer {user} won the daily prize {dailies} times today (limit 2)"
        );
    }
    let by_id: HashMap<i64, &draw_records::Model> = records.iter().map(|r| (r.id, r)).collect();
    let wins = answers
        .iter()
        .filter(|(_, status, _)| *status == 200)
        .count();
    for (user, _, body) in answers.iter().filter(|(_, status, _)| *status == 200) {
        let id = body["draw_id"].as_i64().unwrap();
        let record = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("answered draw {id} has no record"));
        assert_eq!(record.user_id, *user);
        let slug = body["prize"]["slug"].as_str().unwrap();
        assert_eq!(
            record.prize_id,
            prize_id(&app, slug).await,
            "draw {id} answered {slug}"
        );
    }
    assert_eq!(records.len(), wins, "one record per answered prize");
}

fn single_prize_pool(stock: Option<u32>, per_user_total: Option<u32>) -> Value {
    json!({
        "slug": POOL, "name": "单奖池", "kind": "lottery", "daily_free_chances": 0,
        "prizes": [{ "slug": "only", "name": "积分", "tier": 1, "kind": "points", "points": 5, "weight_bp": 10000,
                     "stock": stock, "per_user_total": per_user_total }]
    })
}

/// Makes the store stale, as a replica that missed the last writes would be: the scope's counters set back to
/// `counters`, with the scope still marked as hydrated.
async fn make_stale(app: &TestApp, scope: Scope, counters: &[(String, u32)]) {
    let hydration = Hydration {
        scope,
        counters: counters
            .iter()
            .map(|(name, value)| CounterValue {
                name: name.clone(),
                value: *value,
                expires: false,
            })
            .collect(),
        free_stock: Vec::new(),
    };
    app.store
        .hydrate(CAMPAIGN, pool_id(app).await, &hydration)
        .await
        .unwrap();
}

async fn count_records(app: &TestApp) -> u64 {
    draw_records::Entity::find().count(&app.db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_store_cannot_sell_a_stock_unit_twice() {
    let app = spawn_app().await;
    app.live_campaign(&single_prize_pool(Some(3), None)).await;
    let customers = customers(&app, 4, 2).await;
    for (user, token) in &customers[..3] {
        let response = app
            .draw(token, CAMPAIGN, POOL, &format!("stale-draw-{user:06}"))
            .await;
        assert_eq!(response.status(), 200);
    }
    let (late, token) = &customers[3];
    let sold_out = app
        .draw(token, CAMPAIGN, POOL, &format!("late-draw-{late:06}-1"))
        .await;
    assert_eq!(error_code(sold_out).await, "out_of_stock");

    let only = prize_id(&app, "only").await;
    make_stale(&app, Scope::Pool, &[(format!("stock:{only}"), 0)]).await;
    for attempt in 2..5 {
        let again = app
            .draw(
                token,
                CAMPAIGN,
                POOL,
                &format!("late-draw-{late:06}-{attempt}"),
            )
            .await;
        assert_eq!(
            error_code(again).await,
            "out_of_stock",
            "the database refuses a unit another draw holds, then the store is rebuilt"
        );
    }
    assert_eq!(count_records(&app).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_store_cannot_give_a_customer_a_prize_beyond_their_limit() {
    let app = spawn_app().await;
    app.live_campaign(&single_prize_pool(None, Some(1))).await;
    let customers = customers(&app, 1, 5).await;
    let (alice, token) = &customers[0];
    assert_eq!(
        app.draw(token, CAMPAIGN, POOL, "limit-draw-1")
            .await
            .status(),
        200
    );
    let second = app.draw(token, CAMPAIGN, POOL, "limit-draw-2").await;
    assert_eq!(error_code(second).await, "out_of_stock");

    let only = prize_id(&app, "only").await;
    let won = [
        (format!("u{alice}:won:{only}"), 0),
        (format!("u{alice}:used"), 0),
    ];
    make_stale(&app, Scope::User(*alice), &won).await;
    for key in ["limit-draw-3", "limit-draw-4"] {
        let again = app.draw(token, CAMPAIGN, POOL, key).await;
        assert_eq!(error_code(again).await, "out_of_stock");
    }
    assert_eq!(count_records(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_store_cannot_spend_a_chance_twice_nor_lose_one() {
    let app = spawn_app().await;
    app.live_campaign(&single_prize_pool(None, None)).await;
    let customers = customers(&app, 1, 2).await;
    let (alice, token) = &customers[0];
    for key in ["chance-draw-1", "chance-draw-2"] {
        assert_eq!(app.draw(token, CAMPAIGN, POOL, key).await.status(), 200);
    }
    make_stale(&app, Scope::User(*alice), &[(format!("u{alice}:used"), 0)]).await;
    for key in ["chance-draw-3", "chance-draw-4"] {
        let again = app.draw(token, CAMPAIGN, POOL, key).await;
        assert_eq!(error_code(again).await, "no_chance");
    }
    assert_eq!(count_records(&app).await, 2);

    // The other way round: a store that lost a grant's step gives the chance back from the database.
    let pool = pool_id(&app).await;
    grant_chances(
        app.state.context(),
        *alice,
        CAMPAIGN,
        pool,
        "test",
        "test:more",
        1,
    )
    .await
    .unwrap();
    make_stale(
        &app,
        Scope::User(*alice),
        &[(format!("u{alice}:granted"), 2)],
    )
    .await;
    assert_eq!(
        app.draw(token, CAMPAIGN, POOL, "chance-draw-5")
            .await
            .status(),
        200
    );
    assert_eq!(count_records(&app).await, 3);
}

/// A Redis of this test's own (never the machine's): paused with CLIENT PAUSE in the middle of load, then let go.
struct OwnRedis {
    child: std::process::Child,
    url: String,
}

impl OwnRedis {
    /// `None` only outside CI and Redis mode, on a machine without `redis-server`; there a missing binary fails.
    fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let spawned = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
            ])
            .stdout(std::process::Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            // CI (either mode) has redis-server: only a developer's machine without it skips.
            Err(error)
                if std::env::var("TEST_REDIS_URL").is_ok() || std::env::var("CI").is_ok() =>
            {
                panic!("redis-server: {error}")
            }
            Err(_) => {
                eprintln!(
                    "skipped: no redis-server on this machine (the Redis mode of CI runs it)"
                );
                return None;
            }
        };
        Some(Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        })
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url.as_str()).unwrap();
        for _ in 0..100 {
            if let Ok(conn) = client.get_multiplexed_async_connection().await {
                return conn;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("own redis-server did not start");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Redis stops answering in the middle of load: every draw then answers 503 `service_unavailable` within the
/// configured timeout (no hang), writes nothing, and draws work again by themselves once Redis answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_that_stops_answering_gets_clear_503s_writes_nothing_and_recovers() {
    let Some(redis) = OwnRedis::start() else {
        return;
    };
    let mut admin = redis.connection().await;
    let prefix = random_prefix();
    let timeouts = wxcampaign::store::RedisTimeouts {
        connect: std::time::Duration::from_millis(300),
        response: std::time::Duration::from_millis(300),
        retries: 1,
    };
    let store = wxcampaign::store::RedisStore::connect_with(&redis.url, &prefix, timeouts)
        .await
        .unwrap();
    let app = spawn_app_on(&[], &prefix, Arc::new(store)).await;
    app.live_campaign(&single_prize_pool(None, None)).await;
    let customers = customers(&app, 10, 20).await;
    for (user, token) in &customers {
        assert_eq!(
            app.draw(token, CAMPAIGN, POOL, &format!("before-draw-{user:06}"))
                .await
                .status(),
            200
        );
    }
    let before = count_records(&app).await;

    let _: String = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(6000)
        .arg("ALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    // The client would wait 30 s: every answer must come well before, from the store's own timeout.
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let paused = join_all(customers.iter().map(|(user, token)| {
        let (client, url) = (
            client.clone(),
            app.url(&format!(
                "/api/v1/campaigns/{CAMPAIGN}/lottery/{POOL}/draws"
            )),
        );
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", format!("paused-draw-{user:06}"))
                .send()
                .await
                .expect("an answer, not a client timeout");
            let retry_after = response.headers().get("retry-after").is_some();
            (
                response.status().as_u16(),
                retry_after,
                error_code(response).await,
            )
        }
    }))
    .await;
    for answer in &paused {
        assert_eq!(
            answer,
            &(503, true, "service_unavailable".to_owned()),
            "{paused:?}"
        );
    }
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.json::<Value>().await.unwrap()["store"], "unavailable");
    assert_eq!(
        count_records(&app).await,
        before,
        "nothing written while the store did not answer"
    );

    // Nobody lifts the pause: the service must find Redis again by itself when it ends.
    let mut recovered = false;
    for attempt in 0..100 {
        let (user, token) = &customers[0];
        let response = app
            .draw(
                token,
                CAMPAIGN,
                POOL,
                &format!("after-draw-{user:06}-{attempt}"),
            )
            .await;
        if response.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "draws work again once Redis answers");
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    // Each customer draws again (a 503 is an answer: the retry takes a new key) and spent nothing meanwhile.
    for (user, token) in &customers[1..] {
        assert_eq!(
            app.draw(token, CAMPAIGN, POOL, &format!("again-draw-{user:06}"))
                .await
                .status(),
            200
        );
    }
    assert_eq!(count_records(&app).await, before + customers.len() as u64);
}
