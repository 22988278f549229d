//! Shared by the load scripts: the application under load (started in this process, which then does nothing but
//! serve), the bare store-script endpoints beside it, and runs of the `load` tool (`benches/load.rs`, a separate
//! process) against either, with this process's CPU and peak RSS sampled by the tool while it runs.
// Each load script compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod bare;

use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;

pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One request as the load tool reads it: `PATH<TAB>BODY<TAB>Header: value...`.
pub struct Line {
    pub path: String,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

/// A file of request lines, each sent once (`--no-repeat`): idempotency keys and messages must not repeat,
/// since a repeat is answered from the store and would flatter the figures.
pub struct Requests {
    file: PathBuf,
    content_type: &'static str,
    pub count: usize,
}

impl Requests {
    /// Streams `lines` to a file: the server's process (this one) must not hold them while it is measured.
    pub fn write(
        name: &str,
        content_type: &'static str,
        lines: impl IntoIterator<Item = Line>,
    ) -> anyhow::Result<Self> {
        let file = std::env::temp_dir().join(format!(
            "wxc-bench-{name}-{}.txt",
            uuid::Uuid::new_v4().simple()
        ));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        let mut count = 0;
        for line in lines {
            count += 1;
            write!(out, "{}\t{}", line.path, line.body)?;
            for (name, value) in &line.headers {
                write!(out, "\t{name}: {value}")?;
            }
            writeln!(out)?;
        }
        out.flush()?;
        Ok(Self {
            file,
            content_type,
            count,
        })
    }
}

impl Drop for Requests {
    fn drop(&mut self) {
        if self.file.starts_with(std::env::temp_dir()) {
            let _ = std::fs::remove_file(&self.file);
        }
    }
}

/// What one run sends.
pub enum Target<'a> {
    /// `GET` of one path, again and again.
    Get(&'a str),
    /// Each line of the file once.
    Lines(&'a Requests),
}

/// One run of the load tool.
pub struct Load<'a> {
    pub label: &'a str,
    pub base: &'a str,
    pub target: Target<'a>,
    pub connections: usize,
    /// Requests per second offered (open loop); `None` sends as fast as answers come (closed loop: capacity).
    pub rate: Option<f64>,
    /// Connections opened first and held open, the `rate` requests sent over them in turn.
    pub hold: Option<usize>,
    pub seconds: u64,
}

/// The load tool's figures for one run.
pub struct Measured {
    pub label: String,
    pub figures: Value,
}

impl Measured {
    pub fn req_per_s(&self) -> f64 {
        self.figures["req_per_s"].as_f64().unwrap_or(0.0)
    }

    pub fn failures(&self) -> u64 {
        let count = |field: &str| self.figures[field].as_u64().unwrap_or(0);
        count("errors") + count("non_2xx")
    }

    /// One row of the table `print_header` starts.
    pub fn print(&self) {
        let f = &self.figures;
        let ms = |field: &str| format!("{:.2} ms", f[field].as_f64().unwrap_or(f64::NAN));
        let offered = f["rate"]
            .as_f64()
            .map_or("closed".to_owned(), |r| format!("{r:.0}/s"));
        println!(
            "| {} | {} | {} | {:.0} req/s | {} | {} | {} | {} | {:.0}% | {:.0} MB |",
            self.label,
            f["connections"],
            offered,
            self.req_per_s(),
            ms("p50_ms"),
            ms("p99_ms"),
            ms("p999_ms"),
            self.failures(),
            f["watched_cpu_percent"].as_f64().unwrap_or(f64::NAN),
            f["watched_peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
        );
        if let Some(open) = f["held_open_at_end"].as_u64() {
            eprintln!(
                "{}: {open} of {} connections still open at the end",
                self.label, f["connections"]
            );
        }
        if self.failures() > 0 {
            // On stderr, so the table stays whole on stdout.
            eprintln!(
                "{}: statuses {}, errors {}",
                self.label, f["statuses"], f["errors"]
            );
        }
    }
}

pub fn print_header(what: &str) {
    println!("\n{what}\n");
    println!(
        "| endpoint | connections | offered | throughput | p50 | p99 | p99.9 | failures | server CPU | server peak RSS |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
}

/// The load tool: `BENCH_LOAD_BIN`, or the `load` bench built beside this one (`cargo bench --no-run`).
fn load_tool() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("BENCH_LOAD_BIN") {
        return Ok(PathBuf::from(path));
    }
    let here = std::env::current_exe()?;
    let dir = here
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no directory"))?;
    let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name == "load" || (name.starts_with("load-") && !name.contains('.'))
        })
        .filter_map(|path| Some((path.metadata().ok()?.modified().ok()?, path)))
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, path)| path).ok_or_else(|| {
        anyhow::anyhow!(
            "no load tool beside {here:?}: run `cargo bench --no-run` or set BENCH_LOAD_BIN"
        )
    })
}

/// Runs the load tool once (a separate process) and watches this process, the server, while it runs.
pub async fn measure(load: &Load<'_>) -> anyhow::Result<Measured> {
    let mut command = std::process::Command::new(load_tool()?);
    command
        .arg("--url")
        .arg(load.base)
        .arg("--label")
        .arg(load.label)
        .arg("--connections")
        .arg(load.connections.to_string())
        .arg("--duration-secs")
        .arg(load.seconds.to_string())
        .arg("--watch-pid")
        .arg(std::process::id().to_string());
    match &load.target {
        Target::Get(path) => {
            command.arg("--path").arg(path);
        }
        Target::Lines(requests) => {
            command
                .arg("--requests")
                .arg(&requests.file)
                .arg("--content-type")
                .arg(requests.content_type)
                .arg("--no-repeat");
        }
    }
    if let Some(rate) = load.rate {
        command.arg("--rate").arg(format!("{rate:.0}"));
    }
    if let Some(hold) = load.hold {
        command.arg("--hold").arg(hold.to_string());
    }
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    if !output.status.success() {
        anyhow::bail!(
            "load tool failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let figures: Value = serde_json::from_slice(&output.stdout)?;
    Ok(Measured {
        label: load.label.to_owned(),
        figures,
    })
}

/// Capacity: `target` as fast as it answers on `connections()` connections, printed as a row.
pub async fn capacity(label: &str, base: &str, target: Target<'_>) -> anyhow::Result<Measured> {
    run(label, base, target, connections(), None).await
}

/// Latency at `rate` requests per second offered, printed as a row.
pub async fn at_rate(
    label: &str,
    base: &str,
    target: Target<'_>,
    rate: f64,
) -> anyhow::Result<Measured> {
    run(label, base, target, connections(), Some(rate)).await
}

/// One closed-loop run of `connections` for `seconds()`, or open loop with `rate`, printed as a row.
pub async fn run(
    label: &str,
    base: &str,
    target: Target<'_>,
    connections: usize,
    rate: Option<f64>,
) -> anyhow::Result<Measured> {
    run_holding(label, base, target, connections, rate, None).await
}

/// Like `run` at `rate`, over `connections` opened first and held open: what that many customers with the
/// page open cost.
pub async fn held(
    label: &str,
    base: &str,
    target: Target<'_>,
    connections: usize,
    rate: f64,
) -> anyhow::Result<Measured> {
    run_holding(
        label,
        base,
        target,
        connections,
        Some(rate),
        Some(connections),
    )
    .await
}

async fn run_holding(
    label: &str,
    base: &str,
    target: Target<'_>,
    connections: usize,
    rate: Option<f64>,
    hold: Option<usize>,
) -> anyhow::Result<Measured> {
    let measured = measure(&Load {
        label,
        base,
        target,
        connections,
        rate,
        hold,
        seconds: seconds(),
    })
    .await?;
    measured.print();
    Ok(measured)
}

/// The application under load, started in this process on port 0.
pub struct BenchApp {
    pub base: String,
    pub state: wxcampaign::state::AppState,
    pub client: reqwest::Client,
    /// `sqlite` or `postgres`, `memory` or `redis` (or `redis-cluster`), for the report.
    pub database: &'static str,
    pub store: &'static str,
}

/// Lifts the customer rate limits: a load run sends far more than a person would.
pub const NO_CUSTOMER_RATE_LIMITS: &[(&str, &str)] = &[
    ("APP__RATE_LIMIT__CUSTOMER_PER_USER__LIMIT", "1000000"),
    ("APP__RATE_LIMIT__CUSTOMER_PER_IP__LIMIT", "1000000"),
];

/// Connections of the capacity and latency runs (the figure), and seconds per run.
pub fn connections() -> usize {
    env_or("BENCH_CONNECTIONS", 256)
}

pub fn seconds() -> u64 {
    env_or("BENCH_SECONDS", 10) as u64
}

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

    /// The bare `GET /healthz` at capacity: the baseline of every table.
    pub async fn healthz(&self) -> anyhow::Result<Measured> {
        capacity("GET /healthz (bare)", &self.base, Target::Get("/healthz")).await
    }

    /// A second instance on the same database and store (what a second server would be), on its own port.
    pub async fn second_instance(&self) -> anyhow::Result<String> {
        let settings = (*self.state.settings).clone();
        let app = wxcampaign::startup::Application::build(settings).await?;
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        Ok(base)
    }

    pub fn describe(&self) -> String {
        format!(
            "database {}, store {}, {} connections, {} s per run; the load tool shares the two cores with the server",
            self.database,
            self.store,
            connections(),
            seconds()
        )
    }
}

/// Prints `endpoint / baseline` for the summary line of a table.
pub fn ratio(endpoint: &Measured, baseline: &Measured) -> String {
    format!(
        "{} / {} = {:.2}",
        endpoint.label,
        baseline.label,
        endpoint.req_per_s() / baseline.req_per_s().max(1.0)
    )
}

/// Starts the app on a fresh SQLite file and the memory store, or on BENCH_DATABASE_URL / BENCH_REDIS_URL, with
/// `extra` settings on top.
pub async fn start(extra: &[(&str, &str)]) -> anyhow::Result<BenchApp> {
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
        client: reqwest::Client::new(),
        database: if database_url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
        store: if store_url.starts_with("redis+cluster") {
            "redis-cluster"
        } else if store_url.starts_with("redis") {
            "redis"
        } else {
            "memory"
        },
    })
}
