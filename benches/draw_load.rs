//! Load script: full-path lottery draws per second (login token, rate limits, idempotency claim, the atomic
//! store step, the draw record and its points grant) beside the bare `/healthz` endpoint in the same run.
//! See benches/README.md.
//!
//!   cargo bench --bench draw_load                          # SQLite file + memory store
//!   BENCH_DATABASE_URL=postgres://... BENCH_REDIS_URL=redis://... cargo bench --bench draw_load
//!   BENCH_DRAWS=4000 BENCH_CONCURRENCY=32 BENCH_USERS=200 cargo bench --bench draw_load

#[path = "common/mod.rs"]
mod common;

use chrono::{Duration, Utc};
use common::{env_or, fire, Request};
use sea_orm::EntityTrait;
use serde_json::json;
use wxcampaign::audit::Actor;
use wxcampaign::calendar::shanghai;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let draws = env_or("BENCH_DRAWS", 4000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let users = env_or("BENCH_USERS", 200);
    let bench = common::start(common::NO_CUSTOMER_RATE_LIMITS, concurrency).await?;
    let (base, state, client) = (
        bench.base.clone(),
        bench.state.clone(),
        bench.client.clone(),
    );

    // A live campaign with a realistic pool: mostly thanks and points, a little stock of the rest.
    let now = Utc::now();
    let at = |d: Duration| shanghai(now + d);
    let campaign = json!({
        "slug": "bench", "name": "压测活动", "theme": "压测", "year": 2026, "quarter": 4, "rules_text": "规则",
        "preheat_at": at(Duration::hours(-2)), "starts_at": at(Duration::hours(-1)), "ends_at": at(Duration::days(1))
    });
    let actor = Actor::cli();
    wxcampaign::planning::service::create(&state.db, &actor, &serde_json::from_value(campaign)?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let pool = json!({
        "slug": "bench-pool", "name": "压测奖池", "kind": "lottery",
        "prizes": [
            { "slug": "coupon", "name": "立减金", "tier": 2, "kind": "coupon", "value_fen": 1000, "weight_bp": 500, "stock": 1000 },
            { "slug": "points", "name": "积分", "tier": 3, "kind": "points", "points": 10, "weight_bp": 4500 },
            { "slug": "thanks", "name": "谢谢参与", "tier": 9, "kind": "thanks", "weight_bp": 5000 }
        ]
    });
    wxcampaign::lottery::service::create_pool(
        &state.db,
        &actor,
        "bench",
        &serde_json::from_value(pool)?,
        now,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    wxcampaign::planning::service::schedule(&state.db, &actor, "bench", now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let pool_id = wxcampaign::entities::prize_pools::Entity::find()
        .one(&state.db)
        .await?
        .map(|p| p.id)
        .unwrap_or(0);

    let mut tokens = Vec::new();
    for i in 0..users {
        let (token, user_id) = bench.customer(&format!("oBenchUser{i:06}")).await?;
        let chances = (draws / users + 1) as u32;
        wxcampaign::lottery::service::grant_chances(
            state.context(),
            user_id,
            "bench",
            pool_id,
            "bench",
            &format!("bench:{user_id}"),
            chances,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        tokens.push(token);
    }
    let draw_url = format!("{base}/api/v1/campaigns/bench/lottery/bench-pool/draws");
    let requests: Vec<Request> = (0..draws)
        .map(|i| Request {
            url: draw_url.clone(),
            body: Some(("application/json", "{}".into())),
            headers: vec![
                ("authorization", format!("Bearer {}", tokens[i % users])),
                ("idempotency-key", format!("bench-draw-{i:08}")),
            ],
        })
        .collect();
    println!(
        "{draws} requests each, concurrency {concurrency}, {users} users, database {}, store {}",
        bench.database, bench.store
    );
    bench.bare_baseline(draws, concurrency).await;
    fire("POST .../draws (full path)", &client, requests, concurrency)
        .await
        .print();
    Ok(())
}
