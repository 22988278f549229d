//! Load script: quiz answers per second on the full path (login token, rate limits, the atomic store step that
//! judges and records the answer; every tenth answer is an attempt's last and also writes its result) beside the
//! bare `/healthz` endpoint in the same run. See benches/README.md.
//!
//!   cargo bench --bench quiz_load                          # SQLite file + memory store
//!   BENCH_DATABASE_URL=postgres://... BENCH_REDIS_URL=redis://... cargo bench --bench quiz_load
//!   BENCH_ATTEMPTS=400 BENCH_CONCURRENCY=32 cargo bench --bench quiz_load

#[path = "common/mod.rs"]
mod common;

use chrono::{Duration, Utc};
use common::{env_or, fire_sequences, Request};
use serde_json::{json, Value};
use wxcampaign::audit::Actor;
use wxcampaign::calendar::shanghai;
use wxcampaign::quiz::bank;

/// Questions per attempt: one answer in this many finishes an attempt.
const QUESTIONS: usize = 10;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let attempts = env_or("BENCH_ATTEMPTS", 400);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let bench = common::start(common::NO_CUSTOMER_RATE_LIMITS, concurrency).await?;
    let (base, state, client) = (
        bench.base.clone(),
        bench.state.clone(),
        bench.client.clone(),
    );

    // The demo bank, and a live campaign whose one level asks 10 of its 120 questions.
    let actor = Actor::cli();
    let csv = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/quiz/financial-literacy.csv"),
    )?;
    bank::create_bank(&state.db, &actor, "bench-bank", "压测题库")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    bank::import(
        &state.db,
        &actor,
        "bench-bank",
        bank::Format::Csv,
        &csv,
        &|_, _| {},
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = Utc::now();
    let at = |d: Duration| shanghai(now + d);
    let campaign = json!({
        "slug": "bench", "name": "压测活动", "theme": "压测", "year": 2026, "quarter": 4, "rules_text": "规则",
        "preheat_at": at(Duration::hours(-2)), "starts_at": at(Duration::hours(-1)), "ends_at": at(Duration::days(1)),
        "activities": [{ "slug": "quiz", "kind": "quiz", "name": "压测答题",
            "starts_at": at(Duration::hours(-1)), "ends_at": at(Duration::hours(12)),
            "config": { "bank": "bench-bank", "levels": [{ "name": "全部", "questions": QUESTIONS,
                "seconds_per_question": 300, "pass_score": 6, "daily_attempts": 50, "reward_points": 10 }] } }]
    });
    wxcampaign::planning::service::create(&state.db, &actor, &serde_json::from_value(campaign)?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    wxcampaign::planning::service::schedule(&state.db, &actor, "bench", now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // One customer per attempt, each attempt started before the clock runs.
    let mut sequences = Vec::with_capacity(attempts);
    for i in 0..attempts {
        let (token, _) = bench.customer(&format!("oBenchQuiz{i:06}")).await?;
        let started: Value = client
            .post(format!(
                "{base}/api/v1/campaigns/bench/quiz/levels/1/attempts"
            ))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await?
            .json()
            .await?;
        let attempt = started["attempt_id"].as_str().unwrap_or_default();
        let url = format!("{base}/api/v1/campaigns/bench/quiz/attempts/{attempt}/answers");
        sequences.push(
            (1..=QUESTIONS)
                .map(|n| Request {
                    url: url.clone(),
                    body: Some((
                        "application/json",
                        json!({ "question": n, "options": ["A"] }).to_string(),
                    )),
                    headers: vec![("authorization", format!("Bearer {token}"))],
                })
                .collect::<Vec<_>>(),
        );
    }
    let answers = attempts * QUESTIONS;
    println!(
        "{answers} requests each, concurrency {concurrency}, {attempts} attempts of {QUESTIONS} questions, database {}, store {}",
        bench.database, bench.store
    );
    bench.bare_baseline(answers, concurrency).await;
    fire_sequences("POST .../answers", &client, sequences, concurrency)
        .await
        .print();
    Ok(())
}
