//! Load script: safe-mode official-account messages per second through the real endpoint, beside the bare
//! `/healthz` endpoint measured in the same run. See benches/README.md.
//!
//!   cargo bench --bench callback_load                      # SQLite file + memory store
//!   BENCH_DATABASE_URL=postgres://... BENCH_REDIS_URL=redis://... cargo bench --bench callback_load
//!   BENCH_MESSAGES=5000 BENCH_CONCURRENCY=32 cargo bench --bench callback_load

#[path = "common/mod.rs"]
mod common;

use common::{env_or, fire, Request};
use wxcampaign::wechat::crypto::{sha1_signature, MessageCipher};

const TOKEN: &str = "benchToken2026";
const APP_ID: &str = "wxbench000000001";
const KEY: &str = "/uwlWXxdjm2IogKR7PfhIg8Ez9oP0ZV1YgHNMqhQY/C";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let messages = env_or("BENCH_MESSAGES", 4000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let bench = common::start(
        &[
            ("APP__WECHAT__OFFICIAL_ACCOUNT__TOKEN", TOKEN),
            ("APP__WECHAT__OFFICIAL_ACCOUNT__APP_ID", APP_ID),
            ("APP__WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY", KEY),
            ("APP__WECHAT__OFFICIAL_ACCOUNT__CALLBACK_MODE", "safe"),
        ],
        concurrency,
    )
    .await?;
    let (base, client) = (bench.base.clone(), bench.client.clone());

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
    println!(
        "{messages} requests each, concurrency {concurrency}, database {}, store {}",
        bench.database, bench.store
    );
    bench.bare_baseline(messages, concurrency).await;
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
