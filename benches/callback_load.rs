//! Load script: safe-mode official-account messages per second through the real endpoint, beside the bare
//! `/healthz` endpoint measured in the same run. See benches/README.md.
//!
//!   cargo bench --bench callback_load                      # SQLite file + memory store
//!   BENCH_DATABASE_URL=postgres://... BENCH_REDIS_URL=redis://... cargo bench --bench callback_load
//!   BENCH_MESSAGES=5000 BENCH_CONCURRENCY=32 cargo bench --bench callback_load

use std::collections::HashMap;
use std::sync::Arc;

#[path = "common/mod.rs"]
mod common;

use common::{env_or, fire, Request};
use wxcampaign::config::{ConfigSource, Environment, Settings};
use wxcampaign::startup::Application;
use wxcampaign::wechat::crypto::{sha1_signature, MessageCipher};

const TOKEN: &str = "benchToken2026";
const APP_ID: &str = "wxbench000000001";
const KEY: &str = "/uwlWXxdjm2IogKR7PfhIg8Ez9oP0ZV1YgHNMqhQY/C";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let messages = env_or("BENCH_MESSAGES", 4000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
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
    let overrides: HashMap<String, String> = [
        ("APP__APPLICATION__PORT", "0"),
        ("APP__DATABASE__URL", database_url.as_str()),
        ("APP__DATABASE__MAX_CONNECTIONS", "16"),
        ("APP__STORE__URL", store_url.as_str()),
        ("APP__STORE__KEY_PREFIX", prefix.as_str()),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__TOKEN", TOKEN),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__APP_ID", APP_ID),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY", KEY),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__CALLBACK_MODE", "safe"),
        ("APP__TELEMETRY__LEVEL", "error"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let settings = Settings::load(&ConfigSource {
        config_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        environment: Environment::Test,
        overrides,
    })?;
    wxcampaign::telemetry::init(&settings.telemetry);
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = Arc::new(
        reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .build()?,
    );

    // Build every request first, so the client's own encryption is not in the measurement.
    let cipher = MessageCipher::from_encoding_aes_key(KEY)?;
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let callback: Vec<Request> = (0..messages)
        .map(|i| {
            let xml = format!(
                "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oBenchUser{:018}]]></FromUserName>\
                 <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[积分 {i}]]></Content>\
                 <MsgId>{}</MsgId></xml>",
                i % 500,
                10_000_000 + i
            );
            let encrypt = cipher.encrypt(&xml, APP_ID);
            let nonce = format!("n{i}");
            let msg_signature = sha1_signature(&[TOKEN, &timestamp, &nonce, &encrypt]);
            let signature = sha1_signature(&[TOKEN, &timestamp, &nonce]);
            let url = format!(
                "{base}/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}\
                 &encrypt_type=aes&msg_signature={msg_signature}"
            );
            let body = format!("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
            Request { url, body: Some(("text/xml", body)), headers: Vec::new() }
        })
        .collect();
    let bare: Vec<Request> = (0..messages)
        .map(|_| Request::get(format!("{base}/healthz")))
        .collect();

    println!(
        "{messages} requests each, concurrency {concurrency}, database {}, store {}",
        if database_url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
        store_url.split(':').next().unwrap_or("?")
    );
    // Warm up connections and caches.
    fire(
        "warm-up",
        &client,
        bare[..200.min(messages)].to_vec(),
        concurrency,
    )
    .await;
    fire("GET /healthz (bare)", &client, bare, concurrency)
        .await
        .print();
    fire(
        "POST /wechat/callback (safe)",
        &client,
        callback,
        concurrency,
    )
    .await
    .print();
    Ok(())
}
