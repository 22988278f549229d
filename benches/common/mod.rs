//! Shared by the load scripts: firing requests with bounded concurrency and reporting throughput and latency.
// Each load script compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};

pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub struct Run {
    label: &'static str,
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    failures: usize,
}

impl Run {
    pub fn print(&self) {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let at = |q: f64| sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)];
        println!(
            "{:<28} {:>7} req {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   failures {}",
            self.label,
            self.requests,
            self.requests as f64 / self.elapsed.as_secs_f64(),
            at(0.50).as_secs_f64() * 1000.0,
            at(0.99).as_secs_f64() * 1000.0,
            self.failures
        );
    }
}

pub async fn fire(
    label: &'static str,
    client: &reqwest::Client,
    requests: Vec<Request>,
    concurrency: usize,
) -> Run {
    fire_sequences(
        label,
        client,
        requests.into_iter().map(|r| vec![r]).collect(),
        concurrency,
    )
    .await
}

/// Like `fire`, for requests that must go in order (the answers of one quiz attempt): each sequence is sent one
/// request after another, `concurrency` sequences at a time. Every request's latency counts.
pub async fn fire_sequences(
    label: &'static str,
    client: &reqwest::Client,
    sequences: Vec<Vec<Request>>,
    concurrency: usize,
) -> Run {
    let total = sequences.iter().map(Vec::len).sum();
    let started = Instant::now();
    let results: Vec<Vec<(Duration, bool)>> = stream::iter(sequences)
        .map(|sequence| async move {
            let mut results = Vec::with_capacity(sequence.len());
            for request in sequence {
                let sent = Instant::now();
                let request = request.build(client);
                let ok = matches!(request.send().await, Ok(r) if r.status().is_success());
                results.push((sent.elapsed(), ok));
            }
            results
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let results: Vec<(Duration, bool)> = results.into_iter().flatten().collect();
    Run {
        label,
        requests: total,
        elapsed: started.elapsed(),
        failures: results.iter().filter(|(_, ok)| !ok).count(),
        latencies: results.into_iter().map(|(latency, _)| latency).collect(),
    }
}

/// One request of a load run.
#[derive(Clone)]
pub struct Request {
    pub url: String,
    /// (content type, body) for a POST; a GET without.
    pub body: Option<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
}

impl Request {
    pub fn get(url: String) -> Self {
        Self {
            url,
            body: None,
            headers: Vec::new(),
        }
    }

    fn build(self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut request = match self.body {
            Some((content_type, body)) => client
                .post(&self.url)
                .header("content-type", content_type)
                .body(body),
            None => client.get(&self.url),
        };
        for (name, value) in self.headers {
            request = request.header(name, value);
        }
        request
    }
}

/// The application under load, started in this process on port 0.
pub struct BenchApp {
    pub base: String,
    pub state: wxcampaign::state::AppState,
    pub client: reqwest::Client,
    /// `sqlite` or `postgres`, `memory` or `redis`, for the report.
    pub database: &'static str,
    pub store: &'static str,
}

/// Lifts the customer rate limits: a load run sends far more than a person would.
pub const NO_CUSTOMER_RATE_LIMITS: &[(&str, &str)] = &[
    ("APP__RATE_LIMIT__CUSTOMER_PER_USER__LIMIT", "1000000"),
    ("APP__RATE_LIMIT__CUSTOMER_PER_IP__LIMIT", "1000000"),
];

impl BenchApp {
    /// A customer by dev login: (token, user id).
    pub async fn customer(&self, openid: &str) -> anyhow::Result<(String, i64)> {
        let login: serde_json::Value = self
            .client
            .post(format!("{}/api/v1/auth/dev-login", self.base))
            .json(&serde_json::json!({ "openid": openid }))
            .send()
            .await?
            .json()
            .await?;
        let token = login["token"]["token"].as_str().unwrap_or_default();
        Ok((
            token.to_owned(),
            login["user"]["id"].as_i64().unwrap_or_default(),
        ))
    }

    /// Warms up connections, then fires `count` bare `GET /healthz` and prints the run: the baseline beside
    /// the endpoint measured.
    pub async fn bare_baseline(&self, count: usize, concurrency: usize) {
        let bare: Vec<Request> = (0..count)
            .map(|_| Request::get(format!("{}/healthz", self.base)))
            .collect();
        fire(
            "warm-up",
            &self.client,
            bare[..200.min(count)].to_vec(),
            concurrency,
        )
        .await;
        fire("GET /healthz (bare)", &self.client, bare, concurrency)
            .await
            .print();
    }
}

/// Starts the app on a fresh SQLite file and the memory store, or on BENCH_DATABASE_URL / BENCH_REDIS_URL, with
/// `extra` settings on top.
pub async fn start(extra: &[(&str, &str)], concurrency: usize) -> anyhow::Result<BenchApp> {
    use wxcampaign::config::{ConfigSource, Environment, Settings};
    let database_url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| {
        let path =
            std::env::temp_dir().join(format!("wxc-bench-{}.db", uuid::Uuid::new_v4().simple()));
        format!("sqlite://{}?mode=rwc", path.display())
    });
    let store_url = std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "memory://".into());
    let prefix = format!(
        "wxcbench_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut overrides: std::collections::HashMap<String, String> = [
        ("APP__APPLICATION__PORT", "0"),
        ("APP__DATABASE__URL", database_url.as_str()),
        ("APP__DATABASE__MAX_CONNECTIONS", "16"),
        ("APP__STORE__URL", store_url.as_str()),
        ("APP__STORE__KEY_PREFIX", prefix.as_str()),
        ("APP__TELEMETRY__LEVEL", "error"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    overrides.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let settings = Settings::load(&ConfigSource {
        config_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        environment: Environment::Test,
        overrides,
    })?;
    wxcampaign::telemetry::init(&settings.telemetry);
    let app = wxcampaign::startup::Application::build(settings).await?;
    let state = app.state().clone();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Ok(BenchApp {
        base,
        state,
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .build()?,
        database: if database_url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
        store: if store_url.starts_with("redis") {
            "redis"
        } else {
            "memory"
        },
    })
}
