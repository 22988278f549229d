//! Load script: full-path lottery draws (login token, rate limits, idempotency claim, the atomic store step, the
//! draw record and its points grant) beside its two baselines in the same run: the bare `/healthz`, and the bare
//! draw script (one store call from a minimal handler). Capacity (closed loop), then latency at half the draw
//! capacity offered (open loop), then, with BENCH_HOLD_CONNECTIONS, that many connections held open against the
//! draw endpoint; each run with the server's CPU and peak RSS. See benches/README.md.
//!
//!   cargo bench --bench draw_load                          # SQLite file + memory store
//!   BENCH_DATABASE_URL=postgres://... BENCH_REDIS_URL=redis://... cargo bench --bench draw_load
//!   BENCH_CONNECTIONS=256 BENCH_SECONDS=10 BENCH_USERS=400 BENCH_HOLD_CONNECTIONS=10000 cargo bench --bench draw_load

#[path = "common/mod.rs"]
mod common;

use chrono::{Duration, Utc};
use common::{at_rate, bare, capacity, connections, env_or, held, print_header, ratio, run, Line};
use common::{Requests, Target};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use wxcampaign::audit::Actor;
use wxcampaign::calendar::shanghai;
use wxcampaign::entities::{draw_records, prizes};

/// Draws one closed-loop run can take, at most: more than any run here answers in its seconds.
const LINES_PER_RUN: usize = 40_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let users = env_or("BENCH_USERS", 400);
    let hold = env_or("BENCH_HOLD_CONNECTIONS", 0);
    let bench = common::start(common::NO_CUSTOMER_RATE_LIMITS).await?;
    let state = bench.state.clone();

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

    let two_instances = bench.store != "memory";
    let runs = 2 + usize::from(hold > 0) + usize::from(two_instances);
    let mut tokens = Vec::new();
    for i in 0..users {
        let (token, user_id) = bench.customer(&format!("oBenchUser{i:06}")).await?;
        let chances = (runs * LINES_PER_RUN / users + 1) as u32;
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
        tokens.push((token, user_id));
    }

    let user_ids: Vec<i64> = tokens.iter().map(|(_, id)| *id).collect();
    let bare_base = bare::serve(state.store.clone(), "bench", &user_ids).await?;
    let bare_lines = (0..LINES_PER_RUN * 10).map(|i| Line {
        path: "/bare/draw".into(),
        body: json!({ "user": user_ids[i % users], "request": format!("bare-{i:08}") }).to_string(),
        headers: Vec::new(),
    });
    let bare_draws = Requests::write("bare-draws", "application/json", bare_lines)?;
    let draw_path = "/api/v1/campaigns/bench/lottery/bench-pool/draws";
    let draws = |run: &str, count: usize| -> anyhow::Result<Requests> {
        let lines = (0..count).map(|i| Line {
            path: draw_path.into(),
            body: "{}".into(),
            headers: vec![
                ("Authorization", format!("Bearer {}", tokens[i % users].0)),
                ("Idempotency-Key", format!("bench-{run}-{i:08}")),
            ],
        });
        Requests::write(run, "application/json", lines)
    };
    let closed = draws("closed", LINES_PER_RUN)?;
    let open = draws("open", LINES_PER_RUN)?;

    print_header(&format!("draw_load: {}", bench.describe()));
    let healthz = bench.healthz().await?;
    let full = capacity(
        "POST .../draws (full path)",
        &bench.base,
        Target::Lines(&closed),
    )
    .await?;
    let latency = at_rate(
        "POST .../draws at half its capacity",
        &bench.base,
        Target::Lines(&open),
        full.req_per_s() / 2.0,
    )
    .await?;
    if hold > 0 {
        let requests = draws("held", LINES_PER_RUN)?;
        let at_half = held(
            "POST .../draws at half its capacity, over connections held open",
            &bench.base,
            Target::Lines(&requests),
            hold,
            full.req_per_s() / 2.0,
        )
        .await?;
        println!(
            "- {hold} connections held open: {} failures, server peak RSS {} MB",
            at_half.failures(),
            at_half.figures["watched_peak_rss_mb"]
        );
    }
    if two_instances {
        // Half the connections on each of two instances sharing the database and the store.
        let second = bench.second_instance().await?;
        let (one, other) = (
            draws("first", LINES_PER_RUN / 2)?,
            draws("second", LINES_PER_RUN / 2)?,
        );
        let half = connections() / 2;
        let (a, b) = tokio::join!(
            run(
                "POST .../draws, instance 1 of 2",
                &bench.base,
                Target::Lines(&one),
                half,
                None
            ),
            run(
                "POST .../draws, instance 2 of 2",
                &second,
                Target::Lines(&other),
                half,
                None
            )
        );
        let both = a?.req_per_s() + b?.req_per_s();
        println!(
            "- two instances together: {both:.0} req/s, {:.2} of one instance's capacity",
            both / full.req_per_s().max(1.0)
        );
    }
    // Last: on the memory store its 400,000 request ids stay in this process, and would count in the
    // RSS of the runs above.
    let bare_capacity = capacity(
        "POST /bare/draw (the draw script alone)",
        &bare_base,
        Target::Lines(&bare_draws),
    )
    .await?;
    println!();
    println!("- {}", ratio(&full, &bare_capacity));
    println!("- {}", ratio(&full, &healthz));
    println!(
        "- p99 at half the draw capacity offered: {:.2} ms",
        latency.figures["p99_ms"].as_f64().unwrap_or(f64::NAN)
    );
    oversell_check(&state.db).await?;
    double_reward_check(&state.db).await
}

/// Every points win was credited once: one ledger entry per draw that won points, however many instances drew.
async fn double_reward_check(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait, Statement};
    let counted = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "select (select count(*) from draw_records d join prizes p on p.id = d.prize_id where p.kind = 'points') as wins, \
                    (select count(*) from points_ledger where source_ref like 'draw:%') as credits",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    let (wins, credits): (i64, i64) = (
        counted.try_get("", "wins")?,
        counted.try_get("", "credits")?,
    );
    let verdict = if wins == credits { "ok" } else { "MISMATCH" };
    println!("- reward check: {wins} points wins, {credits} points credits: {verdict}");
    Ok(())
}

/// However many draws ran, no stocked prize was won more often than its stock.
async fn oversell_check(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    for prize in prizes::Entity::find().all(db).await? {
        let Some(stock) = prize.stock_total else {
            continue;
        };
        let won = draw_records::Entity::find()
            .filter(draw_records::Column::PrizeId.eq(prize.id))
            .count(db)
            .await?;
        let verdict = if won <= u64::try_from(stock).unwrap_or(0) {
            "ok"
        } else {
            "OVERSOLD"
        };
        println!(
            "- oversell check: {} won {won} of stock {stock}: {verdict}",
            prize.slug
        );
    }
    Ok(())
}
