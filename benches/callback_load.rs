//! Load script: safe-mode official-account messages through the real endpoint (signatures, decryption, the nonce
//! and retry-dedupe claims, the durable inbox row with the keyword reply it chose, the encrypted reply), beside
//! the bare `/healthz` in the same run: capacity (closed loop), then latency at a fixed offered rate (open
//! loop: BENCH_CALLBACK_RATE, the node peer's capacity when `benches/harness.sh` runs it, else half our own
//! capacity), each with the server's CPU and peak RSS. See benches/README.md.
//!
//! The account and the messages are the peers' (`../shared/peers/`): token, EncodingAESKey and appid of
//! `common.py`, and what `gen_messages.py` writes: a text "查询余额" from one of 5,000 senders, each message its
//! own MsgId and nonce, answered with an encrypted passive text reply ("收到").
//!
//!   cargo bench --bench callback_load                      # SQLite file + memory store
//!   BENCH_DATABASE_URL=postgres://... BENCH_REDIS_URL=redis://... cargo bench --bench callback_load
//!   BENCH_CONNECTIONS=256 BENCH_SECONDS=10 BENCH_CALLBACK_RATE=2500 cargo bench --bench callback_load

#[path = "common/mod.rs"]
mod common;

use common::{at_rate, capacity, print_header, ratio, Line, Requests, Target};
use wxcampaign::audit::Actor;
use wxcampaign::official_account::auto_reply;
use wxcampaign::wechat::crypto::{sha1_signature, MessageCipher};

const TOKEN: &str = "bankTok3n";
const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const APP_ID: &str = "wx1234567890abcdef";
/// More messages than any run here answers in its seconds: none is sent twice.
const MESSAGES_PER_RUN: usize = 120_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bench = common::start(&[
        ("APP__WECHAT__OFFICIAL_ACCOUNT__TOKEN", TOKEN),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__APP_ID", APP_ID),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY", KEY),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__CALLBACK_MODE", "safe"),
    ])
    .await?;
    let rule = serde_json::json!({ "trigger": "keyword", "match_type": "contains", "pattern": "余额",
                                   "reply": { "type": "text", "content": "收到" } });
    auto_reply::create_rule(
        &bench.state.db,
        &Actor::cli(),
        &serde_json::from_value(rule)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    // Every request is built first, so the client's own encryption is not in the measurement.
    let closed = messages("closed", 0)?;
    let open = messages("open", MESSAGES_PER_RUN)?;

    print_header(&format!("callback_load: {}", bench.describe()));
    let healthz = bench.healthz().await?;
    let full = capacity(
        "POST /wechat/callback (safe mode)",
        &bench.base,
        Target::Lines(&closed),
    )
    .await?;
    let rate = std::env::var("BENCH_CALLBACK_RATE")
        .ok()
        .and_then(|r| r.parse::<f64>().ok())
        .unwrap_or(full.req_per_s() / 2.0);
    at_rate(
        "POST /wechat/callback at a fixed rate",
        &bench.base,
        Target::Lines(&open),
        rate,
    )
    .await?;
    println!();
    println!("- {}", ratio(&full, &healthz));
    Ok(())
}

/// `MESSAGES_PER_RUN` distinct messages, numbered from `first`, as `gen_messages.py` builds them.
fn messages(run: &str, first: usize) -> anyhow::Result<Requests> {
    let cipher = MessageCipher::from_encoding_aes_key(KEY)?;
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let lines = (first..first + MESSAGES_PER_RUN).map(|i| {
            let openid = format!("oBANKuser{:020}", i % 5000);
            let xml = format!(
                "<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
                 <CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[查询余额]]></Content>\
                 <MsgId>{}</MsgId></xml>",
                24_562_397_813_600_000u64 + i as u64
            );
            let encrypt = cipher.encrypt(&xml, APP_ID);
            let nonce = (100_000_000 + i).to_string();
            let msg_signature = sha1_signature(&[TOKEN, &timestamp, &nonce, &encrypt]);
            let signature = sha1_signature(&[TOKEN, &timestamp, &nonce]);
            Line {
                path: format!(
                    "/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}\
                     &openid={openid}&encrypt_type=aes&msg_signature={msg_signature}"
                ),
                body: format!(
                    "<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
                ),
                headers: Vec::new(),
            }
        });
    Requests::write(run, "text/xml", lines)
}
