//! The bare store-script endpoints: the baseline a full-path endpoint is measured against. Each request runs
//! one store call (the draw script, or the quiz-answer script) from a minimal handler: no auth, no rate limits,
//! no idempotency claim, no database. What the full path costs beyond this is ours to make cheap; this much is
//! the store's.

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Deserialize;
use wxcampaign::store::lottery::{
    counter, CounterValue, DrawOutcome, DrawSpec, Hydration, PrizeRule, Scope,
};
use wxcampaign::store::quiz::{AnswerOutcome, AnswerSpec};
use wxcampaign::store::SharedStore;

/// A pool of the bench campaign that only the bare endpoint draws from (its counters are set here, by hand).
pub const BARE_POOL_ID: i64 = 9_000_000;

/// The shape of the full path's pool: a stocked coupon, points, thanks.
fn bare_prizes() -> Vec<PrizeRule> {
    let prize = |id, tier, weight, stock| PrizeRule {
        id,
        tier,
        weight,
        stock,
        per_user_total: None,
        per_user_daily: None,
    };
    vec![
        prize(1, 2, 500, Some(1000)),
        prize(2, 3, 4500, None),
        prize(3, 9, 5000, None),
    ]
}

struct Bare {
    store: SharedStore,
    campaign: String,
    day: String,
}

/// Sets the bare pool's counters (every user with a million chances) and serves the endpoints; returns its
/// base URL.
pub async fn serve(store: SharedStore, campaign: &str, users: &[i64]) -> anyhow::Result<String> {
    let day = wxcampaign::calendar::day_key(chrono::Utc::now());
    let prizes = bare_prizes();
    let pool = Hydration {
        scope: Scope::Pool,
        counters: prizes
            .iter()
            .filter(|p| p.stock.is_some())
            .map(|p| kept(counter::stock(p.id), 0))
            .collect(),
        free_stock: Vec::new(),
    };
    store
        .hydrate(campaign, BARE_POOL_ID, &pool)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for &user in users {
        let mut counters = vec![
            kept(counter::granted(user), 1_000_000),
            kept(counter::used(user), 0),
            kept(counter::since(user), 0),
        ];
        for prize in &prizes {
            counters.push(kept(counter::won(user, prize.id), 0));
            counters.push(CounterValue {
                name: counter::won_on(user, &day, prize.id),
                value: 0,
                expires: true,
            });
        }
        let scope = Hydration {
            scope: Scope::User(user),
            counters,
            free_stock: Vec::new(),
        };
        store
            .hydrate(campaign, BARE_POOL_ID, &scope)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let bare = web::Data::new(Bare {
        store,
        campaign: campaign.to_owned(),
        day,
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(bare.clone())
            .route("/bare/draw", web::post().to(draw))
            .route("/bare/answer", web::post().to(answer))
    })
    .workers(2)
    .bind("127.0.0.1:0")?;
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Ok(format!("http://127.0.0.1:{port}"))
}

fn kept(name: String, value: u32) -> CounterValue {
    CounterValue {
        name,
        value,
        expires: false,
    }
}

#[derive(Deserialize)]
struct DrawBody {
    user: i64,
    request: String,
}

async fn draw(bare: web::Data<Bare>, body: web::Json<DrawBody>) -> HttpResponse {
    let spec = DrawSpec {
        campaign: bare.campaign.clone(),
        pool_id: BARE_POOL_ID,
        user_id: body.user,
        request_id: body.request.clone(),
        day: bare.day.clone(),
        prizes: bare_prizes(),
        guarantee: None,
        consolation: Some(2),
        random: rand::random::<u64>() & ((1 << 53) - 1),
    };
    match bare.store.draw(&spec).await {
        Ok(DrawOutcome::Won(won)) => HttpResponse::Ok().json(won.prize_id),
        Ok(other) => HttpResponse::Conflict().body(format!("{other:?}")),
        Err(error) => HttpResponse::ServiceUnavailable().body(error.to_string()),
    }
}

#[derive(Deserialize)]
struct AnswerBody {
    attempt: String,
    user: i64,
    question: u32,
    chosen: String,
}

async fn answer(bare: web::Data<Bare>, body: web::Json<AnswerBody>) -> HttpResponse {
    let body = body.into_inner();
    let spec = AnswerSpec {
        campaign: bare.campaign.clone(),
        attempt_id: body.attempt,
        user_id: body.user,
        number: body.question,
        chosen: body.chosen,
        now_ms: chrono::Utc::now().timestamp_millis(),
    };
    match bare.store.answer_quiz(&spec).await {
        Ok(AnswerOutcome::Answered(answered)) => HttpResponse::Ok().json(answered.record.correct),
        Ok(other) => HttpResponse::Conflict().body(format!("{other:?}")),
        Err(error) => HttpResponse::ServiceUnavailable().body(error.to_string()),
    }
}

pub fn attempt_id(user: i64) -> String {
    format!("bare-{user}")
}

/// An attempt the bare endpoint answers: `questions` single-choice questions whose answer is A, as the full
/// path's attempts hold them (public JSON, labels, answer, explanation).
pub async fn start_attempt(
    store: &dyn wxcampaign::store::StateStore,
    campaign: &str,
    user: i64,
    questions: usize,
) -> anyhow::Result<()> {
    use wxcampaign::store::quiz::{AttemptQuestion, NewAttempt};
    let now = chrono::Utc::now().timestamp_millis();
    let question = |n: usize| {
        AttemptQuestion {
        public: serde_json::json!({ "number": n, "kind": "single", "stem": "以下哪项属于存款保险的保障范围？",
            "options": [{"label": "A", "text": "活期存款"}, {"label": "B", "text": "理财产品"},
                        {"label": "C", "text": "基金"}, {"label": "D", "text": "股票"}] })
        .to_string(),
        labels: "ABCD".into(),
        multiple: false,
        correct: "A".into(),
        explanation: "存款保险保障的是存款本金和利息。".into(),
    }
    };
    store
        .start_quiz(&NewAttempt {
            campaign: campaign.to_owned(),
            attempt_id: attempt_id(user),
            user_id: user,
            questions: (1..=questions).map(question).collect(),
            started_at_ms: now,
            expires_at_ms: now + 3_600_000,
            late_after_ms: 300_000,
            too_fast_ms: 0,
            ttl: std::time::Duration::from_secs(7200),
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}
