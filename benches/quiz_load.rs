//! Load script: quiz answers per second on the full path (login token, rate limits, the atomic store step that
//! judges and records the answer; every tenth answer is an attempt's last and also writes its result) beside its
//! baselines in the same run: the bare `/healthz` and the bare answer script (one store call from a minimal
//! handler), each with the server's CPU and peak RSS. See benches/README.md.
//!
//!   cargo bench --bench quiz_load                          # SQLite file + memory store
//!   BENCH_DATABASE_URL=postgres://... BENCH_REDIS_URL=redis://... cargo bench --bench quiz_load
//!   BENCH_ATTEMPTS=6000 BENCH_BARE_ATTEMPTS=40000 BENCH_CONNECTIONS=256 BENCH_SECONDS=10 cargo bench --bench quiz_load

#[path = "common/mod.rs"]
mod common;

use chrono::{Duration, Utc};
use common::{bare, capacity, env_or, print_header, ratio, Line};
use common::{Requests, Target};
use futures::StreamExt;
use serde_json::{json, Value};
use wxcampaign::audit::Actor;
use wxcampaign::calendar::shanghai;
use wxcampaign::quiz::bank;

/// Questions per attempt: one answer in this many finishes an attempt.
const QUESTIONS: usize = 10;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let attempts = env_or("BENCH_ATTEMPTS", 6_000);
    let bare_attempts = env_or("BENCH_BARE_ATTEMPTS", 40_000);
    let bench = common::start(common::NO_CUSTOMER_RATE_LIMITS).await?;
    let state = bench.state.clone();

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
    let started = futures::stream::iter(0..attempts)
        .map(|i| {
            let bench = &bench;
            async move {
                let (token, _) = bench.customer(&format!("oBenchQuiz{i:06}")).await?;
                let started: Value = bench
                    .client
                    .post(format!(
                        "{}/api/v1/campaigns/bench/quiz/levels/1/attempts",
                        bench.base
                    ))
                    .bearer_auth(&token)
                    .json(&json!({}))
                    .send()
                    .await?
                    .json()
                    .await?;
                let attempt = started["attempt_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                Ok::<_, anyhow::Error>((token, attempt))
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    // Question-major: by the time a connection takes an attempt's next question, that attempt's previous one
    // was taken `attempts` requests earlier, long answered (attempts >> connections).
    let lines = (1..=QUESTIONS).flat_map(|n| {
        started.iter().map(move |(token, attempt)| Line {
            path: format!("/api/v1/campaigns/bench/quiz/attempts/{attempt}/answers"),
            body: json!({ "question": n, "options": ["A"] }).to_string(),
            headers: vec![("Authorization", format!("Bearer {token}"))],
        })
    });
    let answers = Requests::write("answers", "application/json", lines)?;

    let bare_users: Vec<i64> = (1..=bare_attempts as i64).collect();
    let bare_base = bare::serve(state.store.clone(), "bench", &[]).await?;
    for &user in &bare_users {
        bare::start_attempt(state.store.as_ref(), "bench", user, QUESTIONS).await?;
    }
    let bare_lines = (1..=QUESTIONS).flat_map(|n| {
        bare_users.iter().map(move |user| Line {
            path: "/bare/answer".into(),
            body: json!({ "attempt": bare::attempt_id(*user), "user": user, "question": n, "chosen": "A" })
                .to_string(),
            headers: Vec::new(),
        })
    });
    let bare_answers = Requests::write("bare-answers", "application/json", bare_lines)?;

    print_header(&format!(
        "quiz_load: {attempts} attempts of {QUESTIONS} questions; {}",
        bench.describe()
    ));
    let healthz = bench.healthz().await?;
    let bare_capacity = capacity(
        "POST /bare/answer (the answer script alone)",
        &bare_base,
        Target::Lines(&bare_answers),
    )
    .await?;
    let full = capacity(
        "POST .../answers (full path)",
        &bench.base,
        Target::Lines(&answers),
    )
    .await?;
    println!();
    println!("- {}", ratio(&full, &bare_capacity));
    println!("- {}", ratio(&full, &healthz));
    Ok(())
}
