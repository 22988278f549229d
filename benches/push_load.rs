//! Load script: a push to a segment of BENCH_PUSH_CUSTOMERS followers (20,000 by default), delivered as template
//! messages to a local fake WeChat, then WeChat's TEMPLATESENDJOBFINISH report for every message through the
//! real callback. Figures beside baselines of the same run:
//!
//! - **deliveries/s**: the fan-out (segment read by the database, one delivery row each, the work queue), then
//!   BENCH_PUSH_WORKERS workers (4) draining the queue (claim, every limit spent, the call, the answer
//!   recorded), against the **bare fake**: the same number of template calls made straight to the fake WeChat by
//!   as many tasks, with nothing of ours around them;
//! - **job reports/s**: the reports, one distinct safe-mode callback per message (closed loop, the `load` tool),
//!   against the bare `/healthz`; and how many deliveries got their report.
//!
//!   cargo bench --bench push_load                     # SQLite file + memory store
//!   BENCH_DATABASE_URL=postgres://... BENCH_REDIS_URL=redis://... cargo bench --bench push_load

#[path = "common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::{web, App, HttpResponse, HttpServer};
use common::{capacity, env_or, print_header, ratio, Line, Requests, Target};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::json;
use wxcampaign::audit::Actor;
use wxcampaign::entities::{push_deliveries, users};
use wxcampaign::push::{self, Delivering};
use wxcampaign::wechat::crypto::{sha1_signature, MessageCipher};

const TOKEN: &str = "bankTok3n";
const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const APP_ID: &str = "wx1234567890abcdef";

/// A fake WeChat on its own port: tokens, and template messages answered with the next msgid.
async fn fake_wechat() -> anyhow::Result<String> {
    let next = web::Data::new(AtomicI64::new(1_000_000));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(next.clone())
            .route(
                "/cgi-bin/stable_token",
                web::post().to(|| async {
                    HttpResponse::Ok().json(json!({ "access_token": "BENCH", "expires_in": 7200 }))
                }),
            )
            .route(
                "/cgi-bin/message/template/send",
                web::post().to(|next: web::Data<AtomicI64>| async move {
                    let msgid = next.fetch_add(1, Ordering::Relaxed);
                    HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }))
                }),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))?;
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Ok(format!("http://127.0.0.1:{port}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let customers = env_or("BENCH_PUSH_CUSTOMERS", 20_000);
    let workers = env_or("BENCH_PUSH_WORKERS", 4);
    let fake = fake_wechat().await?;
    let bench = common::start(&[
        ("APP__WECHAT__API_BASE_URL", fake.as_str()),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__TOKEN", TOKEN),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__APP_ID", APP_ID),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY", KEY),
        ("APP__WECHAT__OFFICIAL_ACCOUNT__CALLBACK_MODE", "safe"),
        ("APP__PUSH__WORKERS", "0"),
        // Outside the quiet hours whenever the bench runs: the figure is the sending, not the waiting.
        ("APP__PUSH__QUIET_HOURS_START", "00:00"),
        ("APP__PUSH__QUIET_HOURS_END", "00:00"),
        ("APP__PUSH__TEMPLATE_DAILY_CAP", "100000000"),
    ])
    .await?;
    let state = &bench.state;
    print_header(&format!(
        "push_load: {}; {customers} followers, {workers} delivery workers",
        bench.describe()
    ));

    // The bare fake: as many template calls, straight to it, from as many tasks.
    let client = reqwest::Client::new();
    let started = Instant::now();
    let per_task = customers / workers;
    let calls = (0..workers).map(|_| {
        let client = client.clone();
        let url = format!("{fake}/cgi-bin/message/template/send?access_token=BENCH");
        tokio::spawn(async move {
            for _ in 0..per_task {
                let body = json!({ "touser": "oBench", "template_id": "T", "data": {} });
                client.post(&url).json(&body).send().await?.bytes().await?;
            }
            Ok::<_, anyhow::Error>(())
        })
    });
    for call in futures_util::future::join_all(calls).await {
        call??;
    }
    let bare = (per_task * workers) as f64 / started.elapsed().as_secs_f64();

    // The followers, made the way a login makes them, a thousand a statement.
    let now = chrono::Utc::now();
    for chunk in (0..customers).collect::<Vec<_>>().chunks(1000) {
        let rows = chunk.iter().map(|n| users::ActiveModel {
            oa_openid: Set(Some(format!("oBANKpush{n:019}"))),
            oa_following: Set(true),
            created_at: Set(now),
            last_active_at: Set(now),
            ..Default::default()
        });
        users::Entity::insert_many(rows)
            .exec_without_returning(&state.db)
            .await?;
    }
    let rules = wxcampaign::segments::RuleContext::new(&state.settings, now);
    let segment = serde_json::from_value(
        json!({ "slug": "followers", "name": "关注者", "rule": "following = true" }),
    )?;
    wxcampaign::segments::saved::create(&state.db, &Actor::cli(), &segment, &rules)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let draft = serde_json::from_value(json!({
        "slug": "bench-notice", "name": "账户通知", "channel": "template", "segment": "followers",
        "variants": [{ "name": "A", "template_id": "TMPL", "fields": { "thing1": "积分{{points}}分", "time2": "{{today}}" } }]
    }))?;
    push::saved::create(&state.db, &Actor::cli(), &draft, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let started = Instant::now();
    push::fanout::send(
        &state.db,
        state.store(),
        &state.settings,
        &Actor::cli(),
        "bench-notice",
        false,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let fan_out = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let state = Arc::new(state.clone());
    let drains = (0..workers).map(|n| {
        let state = state.clone();
        tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let cx = Delivering {
                    db: &state.db,
                    store: state.store.as_ref(),
                    wechat: &state.wechat,
                    settings: &state.settings.push,
                    now: chrono::Utc::now(),
                };
                let pass = push::work(cx, &format!("bench-{n}"), 5, None).await?;
                sent += pass.sent;
                if pass.messages == 0 {
                    return Ok::<_, anyhow::Error>(sent);
                }
            }
        })
    });
    let mut sent = 0;
    for drain in futures_util::future::join_all(drains).await {
        sent += drain??;
    }
    let delivering = started.elapsed().as_secs_f64();
    println!();
    println!("| step | figure |");
    println!("| --- | ---: |");
    println!("| bare fake WeChat: template calls/s ({workers} tasks) | {bare:.0} |");
    println!(
        "| fan-out: deliveries queued/s ({customers} in {fan_out:.2} s) | {:.0} |",
        customers as f64 / fan_out
    );
    println!(
        "| delivery: messages sent/s ({sent} in {delivering:.2} s) | {:.0} |",
        sent as f64 / delivering
    );
    println!(
        "- delivered / bare fake = {:.2}",
        sent as f64 / delivering / bare
    );

    // WeChat's report on every message, through the real (safe-mode) callback.
    let reports = job_reports(&state).await?;
    let healthz = bench.healthz().await?;
    let callbacks = capacity(
        "POST /wechat/callback TEMPLATESENDJOBFINISH (safe mode)",
        &bench.base,
        Target::Lines(&reports),
    )
    .await?;
    let reported = push_deliveries::Entity::find()
        .filter(push_deliveries::Column::Report.eq("success"))
        .count(&state.db)
        .await?;
    println!();
    println!("- {}", ratio(&callbacks, &healthz));
    println!("- deliveries with their report: {reported} of {sent}");
    Ok(())
}

/// One safe-mode TEMPLATESENDJOBFINISH a delivered message, each its own nonce.
async fn job_reports(state: &wxcampaign::state::AppState) -> anyhow::Result<Requests> {
    let delivered: Vec<(String, i64)> = push_deliveries::Entity::find()
        .filter(push_deliveries::Column::MsgId.is_not_null())
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|d| d.msg_id.map(|msg_id| (msg_id, d.user_id)))
        .collect();
    let cipher = MessageCipher::from_encoding_aes_key(KEY)?;
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let lines = delivered.iter().enumerate().map(|(i, (msg_id, user_id))| {
        let openid = format!("oBANKpush{:019}", user_id - 1);
        let xml = format!(
            "<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
             <CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
             <Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>\
             <Status><![CDATA[success]]></Status></xml>"
        );
        let encrypt = cipher.encrypt(&xml, APP_ID);
        let nonce = (300_000_000 + i).to_string();
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
    Requests::write("job-reports", "text/xml", lines)
}
