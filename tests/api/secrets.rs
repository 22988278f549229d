//! No response body and no log line holds a secret, a token or a session key, whatever WeChat does: the real
//! binary (logging JSON at debug level) is swept route by route while a hostile WeChat refuses connections,
//! hangs past the timeout, or resets mid-body, and while it answers logins and then fails what follows.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wxcampaign::auth::Role;
use wxcampaign::staff::{self, NewStaff};
use wxcampaign::wechat::crypto::MessageCipher;

use crate::helpers::{config_dir, fresh_database_url, random_prefix, test_settings};
use crate::wechat_sim::{fresh_nonce, now, sign};

const OA_APP_ID: &str = "wx5ec7e7a1b2c3d4e5";
const OA_SECRET: &str = "oa-app-secret-MUST-NOT-LEAK-7f3a9c";
const MP_SECRET: &str = "mp-app-secret-MUST-NOT-LEAK-19be44";
const CALLBACK_TOKEN: &str = "callbackTokenMustNotLeak42";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const JWT_SECRET: &str = "jwt-secret-MUST-NOT-LEAK-0123456789abcdef0123";
const PHONE_SECRET: &str = "phone-secret-MUST-NOT-LEAK-0123456789abcdef";
/// What the hostile WeChat hands out: none of it may come back out of us either.
const ACCESS_TOKEN: &str = "ACCESSTOKENMUSTNOTLEAK0000000001";
const SESSION_KEY: &str = "SESSIONKEYMUSTNOTLEAK0000000001";
const USER_ACCESS_TOKEN: &str = "USERACCESSTOKENMUSTNOTLEAK00001";
/// Codes we forward to WeChat: single-use credentials, so not for logs either.
const LOGIN_CODE: &str = "LOGINCODEMUSTNOTLEAK01";
const PHONE_CODE: &str = "PHONECODEMUSTNOTLEAK01";
const OAUTH_CODE: &str = "OAUTHCODEMUSTNOTLEAK01";
const STAFF_PASSWORD: &str = "staff-password-MUST-NOT-LEAK";

fn secrets() -> Vec<&'static str> {
    vec![
        OA_SECRET,
        MP_SECRET,
        CALLBACK_TOKEN,
        AES_KEY,
        JWT_SECRET,
        PHONE_SECRET,
        ACCESS_TOKEN,
        SESSION_KEY,
        USER_ACCESS_TOKEN,
        LOGIN_CODE,
        PHONE_CODE,
        OAUTH_CODE,
        STAFF_PASSWORD,
    ]
}

/// How the hostile WeChat behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hostility {
    /// Nothing listens: connection refused, for every call including the token.
    Refuses,
    /// Tokens are issued; every other call hangs past our timeout.
    Hangs,
    /// Tokens are issued; every other call gets headers and half a body, then a TCP reset.
    Resets,
    /// Tokens, logins and OAuth grants are answered; every other call (userinfo, phone, ticket) resets.
    AnswersLoginsThenResets,
}

/// A WeChat written at the socket level, so it can misbehave in ways an HTTP mock cannot.
async fn hostile_wechat(hostility: Hostility) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    if hostility == Hostility::Refuses {
        drop(listener);
        return format!("http://{address}");
    }
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_one(stream, hostility));
        }
    });
    format!("http://{address}")
}

async fn serve_one(mut stream: TcpStream, hostility: Hostility) {
    let Some(path) = read_request_path(&mut stream).await else {
        return;
    };
    let answer = |body: Value| {
        let body = body.to_string();
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let answered = match path.as_str() {
        "/cgi-bin/stable_token" | "/cgi-bin/token" => Some(answer(
            json!({ "access_token": ACCESS_TOKEN, "expires_in": 7200 }),
        )),
        "/sns/jscode2session" if hostility == Hostility::AnswersLoginsThenResets => Some(answer(
            json!({ "openid": "oSweepMini0000000000000001", "session_key": SESSION_KEY, "unionid": "oSweepUnion000000000000001" }),
        )),
        "/sns/oauth2/access_token" if hostility == Hostility::AnswersLoginsThenResets => {
            Some(answer(json!({
                "access_token": USER_ACCESS_TOKEN, "expires_in": 7200, "refresh_token": "R",
                "openid": "oSweepOfficial000000000001", "scope": "snsapi_userinfo"
            })))
        }
        _ => None,
    };
    if let Some(response) = answered {
        let _ = stream.write_all(response.as_bytes()).await;
        return;
    }
    match hostility {
        Hostility::Hangs => tokio::time::sleep(Duration::from_secs(10)).await,
        _ => {
            let half = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{\"errcode\":0,\"openid\":\"o";
            let _ = stream.write_all(half.as_bytes()).await;
            let _ = stream.flush().await;
            // A zero linger turns the close into a reset.
            let _ = stream.set_zero_linger();
        }
    }
}

/// The request's path, after reading its head and body.
async fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let target = head.lines().next()?.split(' ').nth(1)?;
    Some(target.split('?').next()?.to_owned())
}

/// The real binary, its log lines collected as they are written.
struct Served {
    child: Child,
    base: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }
}

async fn serve(wechat_base: &str) -> Served {
    let database_url = fresh_database_url().await;
    let settings = test_settings(&[("APP__DATABASE__URL", &database_url)]);
    let database = wxcampaign::db::connect(&settings.database).await.unwrap();
    wxcampaign::db::migrate(&database).await.unwrap();
    staff::create_staff(
        &database,
        &wxcampaign::audit::Actor::cli(),
        NewStaff {
            username: "sweep.admin".into(),
            role: Role::Admin,
            password: STAFF_PASSWORD.to_owned().into(),
        },
    )
    .await
    .expect("create staff");
    let store_url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "memory://".into());
    let mut child = Command::new(env!("CARGO_BIN_EXE_wxcampaign"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_CONFIG_DIR", config_dir())
        .env("APP_ENVIRONMENT", "test")
        .env("RUST_LOG", "debug")
        .env("APP__TELEMETRY__FORMAT", "json")
        .env("APP__DATABASE__URL", &database_url)
        .env("APP__STORE__URL", &store_url)
        .env("APP__STORE__KEY_PREFIX", random_prefix())
        .env("APP__DEMO__SEED", "true")
        .env("APP__WECHAT__API_BASE_URL", wechat_base)
        .env("APP__WECHAT__REQUEST_TIMEOUT_SECS", "1")
        .env("APP__WECHAT__OFFICIAL_ACCOUNT__APP_ID", OA_APP_ID)
        .env("APP__WECHAT__OFFICIAL_ACCOUNT__APP_SECRET", OA_SECRET)
        .env("APP__WECHAT__OFFICIAL_ACCOUNT__TOKEN", CALLBACK_TOKEN)
        .env("APP__WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY", AES_KEY)
        .env("APP__WECHAT__MINI_PROGRAM__APP_SECRET", MP_SECRET)
        .env("APP__AUTH__JWT_SECRET", JWT_SECRET)
        .env("APP__AUTH__PHONE_ENCRYPTION_SECRET", PHONE_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wxcampaign");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let logs = logs.clone();
        let port_tx = port_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    if event["message"] == "serving" {
                        let _ = port_tx.send(event["port"].as_u64().unwrap_or(0));
                    }
                }
                logs.lock().unwrap().push(line);
            }
        });
    }
    let port = port_rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the binary did not start: {:?}", logs.lock().unwrap()));
    Served {
        child,
        base: format!("http://127.0.0.1:{port}"),
        logs,
    }
}

/// One request of the sweep, and whether a 5xx is an acceptable answer to it (only the calls that reach
/// WeChat, which is hostile here).
struct Call {
    method: &'static str,
    path: String,
    body: Option<Value>,
    token: Option<String>,
    cookie: Option<String>,
    key: bool,
    reaches_wechat: bool,
}

fn call(method: &'static str, path: impl Into<String>) -> Call {
    Call {
        method,
        path: path.into(),
        body: None,
        token: None,
        cookie: None,
        key: false,
        reaches_wechat: false,
    }
}

impl Call {
    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }
    fn idempotent(mut self) -> Self {
        self.key = true;
        self
    }
    fn wechat(mut self) -> Self {
        self.reaches_wechat = true;
        self
    }
}

struct Answer {
    status: u16,
    headers: String,
    body: String,
}

async fn send(client: &reqwest::Client, base: &str, call: &Call) -> Answer {
    let url = format!("{base}{}", call.path);
    let mut request = match call.method {
        "GET" => client.get(&url),
        "POST" => client.post(&url),
        "PUT" => client.put(&url),
        "DELETE" => client.delete(&url),
        other => panic!("no such method {other}"),
    };
    if let Some(body) = &call.body {
        request = request.json(body);
    }
    if let Some(token) = &call.token {
        request = request.bearer_auth(token);
    }
    if let Some(cookie) = &call.cookie {
        request = request.header("cookie", cookie);
    }
    if call.key {
        request = request.header("idempotency-key", uuid::Uuid::new_v4().to_string());
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = format!("{:?}", response.headers());
    let body = response.text().await.unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

/// A safe-mode text message from WeChat, signed and encrypted with the sweep's account.
fn callback_message() -> (String, String) {
    let cipher = MessageCipher::from_encoding_aes_key(AES_KEY).unwrap();
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_sweep0000001]]></ToUserName><FromUserName><![CDATA[oSweepFollower000000000001]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>{}</MsgId></xml>",
        now(),
        rand::random::<u32>()
    );
    let encrypt = cipher.encrypt(&xml, OA_APP_ID);
    let (timestamp, nonce) = (now(), fresh_nonce());
    let signature = sign(&[CALLBACK_TOKEN, &timestamp, &nonce]);
    let msg_signature = sign(&[CALLBACK_TOKEN, &timestamp, &nonce, &encrypt]);
    let query = format!(
        "signature={signature}&timestamp={timestamp}&nonce={nonce}&openid=oSweepFollower000000000001&encrypt_type=aes&msg_signature={msg_signature}"
    );
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_sweep0000001]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    (query, body)
}

/// Every route, with inputs that reach its work: the demo calendar's Q4 campaign, its pool, quiz and catalogue.
async fn sweep(hostility: Hostility) {
    let wechat = hostile_wechat(hostility).await;
    let served = serve(&wechat).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = served.base.clone();
    let mut answers: Vec<(String, Answer)> = Vec::new();

    let login = send(
        &client,
        &base,
        &call("POST", "/api/v1/auth/dev-login")
            .body(json!({ "openid": "oSweepCustomer00000000001" })),
    )
    .await;
    let customer: Value = serde_json::from_str(&login.body).unwrap();
    let customer_token = customer["token"]["token"].as_str().unwrap().to_owned();
    let user_id = customer["user"]["id"].as_i64().unwrap();
    let staff_login = send(
        &client,
        &base,
        &call("POST", "/admin/v1/login")
            .body(json!({ "username": "sweep.admin", "password": STAFF_PASSWORD })),
    )
    .await;
    assert_eq!(staff_login.status, 200, "{}", staff_login.body);
    let staff: Value = serde_json::from_str(&staff_login.body).unwrap();
    let staff_token = staff["token"]["token"].as_str().unwrap().to_owned();

    let (c, s) = (customer_token.as_str(), staff_token.as_str());
    let q4 = "/api/v1/campaigns/q4-2026-thanks";
    let pool = format!("{q4}/lottery/year-end-2026");
    let quiz = format!("{q4}/quiz");
    let new_campaign = json!({
        "slug": "sweep-campaign", "name": "扫描", "theme": "t", "year": 2027, "quarter": 1,
        "preheat_at": "2027-01-01 00:00", "starts_at": "2027-01-02 00:00", "ends_at": "2027-02-01 00:00",
        "rules_text": "规则", "prize_summary": "奖品"
    });
    let mut calls = vec![
        call("GET", "/healthz"),
        call("GET", "/readyz"),
        call("GET", "/metrics"),
        call("GET", "/no/such/route"),
        call("POST", "/api/v1/auth/wx-login")
            .body(json!({ "code": LOGIN_CODE }))
            .wechat(),
        call("GET", "/api/v1/me").token(c),
        call("POST", "/api/v1/me/phone")
            .body(json!({ "code": PHONE_CODE }))
            .token(c)
            .wechat(),
        call("GET", "/api/v1/jssdk/config?url=http%3A%2F%2F127.0.0.1%2Fh5%2Fq4").wechat(),
        call("GET", "/api/v1/calendar"),
        call("GET", q4),
        call("GET", "/api/v1/me/points").token(c),
        call("POST", "/api/v1/points/redeem")
            .body(json!({ "campaign": "q4-2026-thanks", "item": "thermos" }))
            .token(c)
            .idempotent(),
        call("GET", format!("{q4}/catalogue")),
        call("POST", format!("{pool}/draws")).token(c).idempotent(),
        call("GET", format!("{pool}/odds")),
        call("POST", format!("{pool}/chances"))
            .body(json!({ "count": 1 }))
            .token(c)
            .idempotent(),
        call("GET", format!("{pool}/chances")).token(c),
        call("GET", "/api/v1/me/coupons").token(c),
        call("GET", "/api/v1/me/prizes").token(c),
        call("POST", "/api/v1/me/prizes/1/address")
            .body(json!({ "recipient": "张三", "phone": "13912345678", "address": "广东省深圳市南山区科苑路88号" }))
            .token(c),
        call("POST", format!("{quiz}/levels/1/attempts")).token(c),
        call("GET", format!("{quiz}/progress")).token(c),
        call("GET", format!("{quiz}/leaderboard")).token(c),
        call("POST", format!("{q4}/teams/family-team"))
            .body(json!({}))
            .token(c),
        call("GET", format!("{q4}/teams/family-team/mine")).token(c),
        call("GET", "/api/v1/teams/ZZZZZZZZ"),
        call("POST", "/api/v1/teams/ZZZZZZZZ/members")
            .token(c)
            .idempotent(),
        call("GET", "/api/v1/me/referrals").token(c),
        call("GET", "/h5/assets/h5.js"),
        call("GET", "/h5/posters/ZZZZZZZZ"),
        call("GET", "/api/v1/posters/ZZZZZZZZ"),
        call("GET", "/api/v1/posters/ZZZZZZZZ/image"),
        call("POST", format!("{q4}/posters/no-such-poster"))
            .body(json!({ "text": "心愿" }))
            .token(c)
            .idempotent(),
        call("GET", "/h5/calculator/q3-2026-autumn/edu-calculator"),
        call(
            "POST",
            "/api/v1/campaigns/q3-2026-autumn/calculators/edu-calculator/education-fund",
        )
        .body(json!({ "child_age": 6, "target_fen": 30_000_000 })),
        call("GET", "/api/v1/me/referrals/qr").token(c).wechat(),
        call("GET", format!("{q4}/tasks")).token(c),
        call("POST", format!("{q4}/check-ins")).body(json!({})).token(c),
        call("POST", format!("{q4}/contents/annual-bill-2026/open"))
            .body(json!({}))
            .token(c),
        call("POST", format!("{q4}/contents/annual-bill-2026/read"))
            .body(json!({}))
            .token(c),
        call("POST", format!("{q4}/tasks/nov-finance-festival/budget/form"))
            .body(json!({ "answers": { "budget_yuan": 3000, "biggest": "餐饮" } }))
            .token(c),
        call("POST", format!("{q4}/tasks/dec-annual-bill/no-such-task/upload"))
            .body(json!({}))
            .token(c),
        call("GET", "/admin/v1/task-uploads").token(s),
        call("GET", "/admin/v1/task-uploads/1/image").token(s),
        call("POST", "/admin/v1/task-uploads/1/decision")
            .body(json!({ "approve": false, "reason": "sweep" }))
            .token(s),
        call("POST", "/api/v1/events")
            .body(json!({ "events": [{ "kind": "page_view", "page": "pages/index/index" }] }))
            .token(c),
        call("GET", "/admin/v1/segments").token(s),
        call("POST", "/admin/v1/segments")
            .body(json!({ "slug": "sweep", "name": "扫描", "rule": "tier = \"new\"" }))
            .token(s),
        call("POST", "/admin/v1/segments/preview")
            .body(json!({ "rule": "following = true" }))
            .token(s),
        call("GET", "/admin/v1/segments/sweep").token(s),
        call("PUT", "/admin/v1/segments/sweep")
            .body(json!({ "name": "扫描", "rule": "tier = \"active\"" }))
            .token(s),
        call("GET", "/admin/v1/segments/sweep/preview").token(s),
        call("GET", "/admin/v1/pushes").token(s),
        call("POST", "/admin/v1/pushes")
            .body(json!({ "slug": "sweep-push", "name": "扫描", "channel": "subscribe", "segment": "sweep",
                          "variants": [{ "name": "A", "template_id": "T", "fields": { "thing1": "你好" } }] }))
            .token(s),
        call("GET", "/admin/v1/pushes/sweep-push").token(s),
        call("PUT", "/admin/v1/pushes/sweep-push")
            .body(json!({ "slug": "sweep-push", "name": "扫描", "channel": "subscribe", "segment": "sweep",
                          "variants": [{ "name": "A", "template_id": "T", "fields": { "thing1": "您好" } }] }))
            .token(s),
        call("POST", "/admin/v1/pushes/sweep-push/schedule")
            .body(json!({ "at": "2099-01-01T10:00:00+08:00" }))
            .token(s),
        call("POST", "/admin/v1/pushes/sweep-push/send")
            .body(json!({}))
            .token(s),
        call("POST", "/admin/v1/pushes/sweep-push/cancel")
            .body(json!({}))
            .token(s),
        call("GET", "/admin/v1/journeys").token(s),
        call("POST", "/admin/v1/journeys")
            .body(json!({ "slug": "sweep-journey", "name": "扫描", "channel": "subscribe",
                          "trigger": { "kind": "dormant", "days": 30 },
                          "variants": [{ "name": "A", "template_id": "T", "fields": { "thing1": "你好" } }] }))
            .token(s),
        call("GET", "/admin/v1/journeys/sweep-journey").token(s),
        call("POST", "/admin/v1/journeys/sweep-journey/enable")
            .body(json!({}))
            .token(s),
        call("POST", "/admin/v1/journeys/sweep-journey/disable")
            .body(json!({}))
            .token(s),
        call("GET", "/api/v1/me/messages").token(c),
        call("PUT", "/api/v1/me/messages")
            .body(json!({ "opted_out": false }))
            .token(c),
        call("POST", "/api/v1/me/subscriptions")
            .body(json!({ "results": { "T": "accept" } }))
            .token(c),
        call("DELETE", "/admin/v1/segments/sweep").token(s),
        call("GET", "/admin/v1/staff").token(s),
        call("POST", "/admin/v1/staff")
            .body(json!({ "username": "sweep.operator", "role": "operator", "password": STAFF_PASSWORD }))
            .token(s),
        call("GET", "/admin/v1/audit").token(s),
        call("PUT", format!("/admin/v1/users/{user_id}/disabled"))
            .body(json!({ "disabled": false, "reason": "sweep" }))
            .token(s),
        call("GET", "/admin/v1/wechat/replies").token(s),
        call("POST", "/admin/v1/wechat/replies")
            .body(json!({ "trigger": "keyword", "pattern": "sweep", "reply": { "type": "text", "content": "ok" } }))
            .token(s),
        call("PUT", "/admin/v1/wechat/replies/1")
            .body(json!({ "trigger": "keyword", "pattern": "sweep", "reply": { "type": "text", "content": "ok" } }))
            .token(s),
        call("DELETE", "/admin/v1/wechat/replies/1").token(s),
        call("GET", "/admin/v1/campaigns").token(s),
        call("POST", "/admin/v1/campaigns").body(new_campaign.clone()).token(s),
        call("GET", "/admin/v1/campaigns/sweep-campaign").token(s),
        call("PUT", "/admin/v1/campaigns/sweep-campaign")
            .body(new_campaign)
            .token(s),
        call("POST", "/admin/v1/campaigns/sweep-campaign/schedule")
            .body(json!({}))
            .token(s),
        call("POST", "/admin/v1/campaigns/sweep-campaign/pause")
            .body(json!({ "reason": "sweep" }))
            .token(s),
        call("POST", "/admin/v1/campaigns/sweep-campaign/resume")
            .body(json!({}))
            .token(s),
        call("POST", "/admin/v1/points/adjustments")
            .body(json!({ "user_id": user_id, "delta": 5 }))
            .token(s)
            .idempotent(),
        call("POST", "/admin/v1/campaigns/sweep-campaign/catalogue")
            .body(json!({ "slug": "mug", "name": "杯子", "cost_points": 10 }))
            .token(s),
        call("POST", "/admin/v1/campaigns/sweep-campaign/pools")
            .body(json!({ "slug": "sweep-pool", "name": "池", "kind": "lottery", "daily_free_chances": 0,
                          "prizes": [{ "slug": "p", "name": "积分", "tier": 1, "kind": "points", "points": 1, "weight_bp": 10000 }] }))
            .token(s),
        call("GET", "/admin/v1/draws").token(s),
        call("GET", "/admin/v1/deliveries").token(s),
        call("GET", "/admin/v1/deliveries/export").token(s),
        call("POST", "/admin/v1/deliveries/1/ship")
            .body(json!({ "carrier": "顺丰速运", "tracking_number": "SF1234567890" }))
            .token(s),
        call("POST", "/admin/v1/coupon-templates")
            .body(json!({ "slug": "sweep-coupon", "name": "券", "value_fen": 100, "valid_days": 7 }))
            .token(s),
        call("POST", "/admin/v1/coupons/NOSUCHCODE/use").body(json!({})).token(s),
        call("POST", "/admin/v1/campaigns/q4-2026-thanks/quiz/leaderboard/rebuild")
            .body(json!({}))
            .token(s),
        call("POST", "/admin/v1/quiz/banks")
            .body(json!({ "slug": "sweep-bank", "name": "题库" }))
            .token(s),
        call("GET", "/admin/v1/quiz/banks/sweep-bank").token(s),
    ];
    let (query, message) = callback_message();
    let timestamp = now();
    let nonce = fresh_nonce();
    let echo = format!(
        "/wechat/callback?signature={}&timestamp={timestamp}&nonce={nonce}&echostr=1234567890",
        sign(&[CALLBACK_TOKEN, &timestamp, &nonce])
    );
    calls.push(call("GET", echo));
    for call in &calls {
        let answer = send(&client, &base, call).await;
        answers.push((format!("{} {}", call.method, call.path), answer));
    }

    // The quiz attempt routes, with the attempt the start made (when the campaign is live).
    let started = answers
        .iter()
        .find(|(name, _)| name.contains("/quiz/levels/1/attempts"))
        .map(|(_, answer)| serde_json::from_str::<Value>(&answer.body).unwrap_or_default())
        .unwrap_or_default();
    let attempt = started["attempt_id"]
        .as_str()
        .unwrap_or("no-attempt")
        .to_owned();
    for extra in [
        call("GET", format!("{quiz}/attempts/{attempt}")).token(c),
        call("POST", format!("{quiz}/attempts/{attempt}/answers"))
            .body(json!({ "question": 1, "choice": "A" }))
            .token(c),
        call("POST", "/admin/v1/quiz/banks/sweep-bank/import")
            .body(json!([]))
            .token(s),
    ] {
        let answer = send(&client, &base, &extra).await;
        answers.push((format!("{} {}", extra.method, extra.path), answer));
    }

    // The callback, in safe mode.
    let callback = client
        .post(format!("{base}/wechat/callback?{query}"))
        .header("content-type", "text/xml")
        .body(message)
        .send()
        .await
        .unwrap();
    answers.push((
        "POST /wechat/callback".into(),
        Answer {
            status: callback.status().as_u16(),
            headers: format!("{:?}", callback.headers()),
            body: callback.text().await.unwrap(),
        },
    ));

    // The H5 login in one browser, both scopes: start, then WeChat's redirect back.
    let mut finishes = Vec::new();
    for scope in ["userinfo", "base"] {
        let (started, finish, finished) = h5_login(&client, &base, scope).await;
        answers.push(started);
        answers.push((format!("{} {}", finish.method, finish.path), finished));
        finishes.push(finish);
    }
    let session_tokens: Vec<String> = answers
        .iter()
        .filter_map(|(_, answer)| {
            let (_, rest) = answer.headers.split_once("wxc_session=")?;
            Some(rest.split(';').next()?.to_owned())
        })
        .collect();
    if hostility == Hostility::AnswersLoginsThenResets {
        assert_eq!(session_tokens.len(), 1, "the base-scope login completed");
    }

    // The sweep covers the contract: every operation the OpenAPI document names was called.
    let contract = send(&client, &base, &call("GET", "/openapi.json")).await;
    let docs = send(&client, &base, &call("GET", "/docs/")).await;
    assert_eq!((contract.status, docs.status), (200, 200));
    let contract: Value = serde_json::from_str(&contract.body).unwrap();
    // The two logins that made the sweep's tokens answer those tokens, so they are outside the secret checks.
    let called: Vec<&str> = answers
        .iter()
        .map(|(name, _)| name.as_str())
        .chain(["POST /api/v1/auth/dev-login", "POST /admin/v1/login"])
        .collect();
    for (template, item) in contract["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            assert!(
                called.iter().any(|name| {
                    let (called, path) = name.split_once(' ').unwrap();
                    called == method && matches_template(template, path)
                }),
                "{hostility:?}: the sweep does not call {method} {template}"
            );
        }
    }

    // The WeChat calls failed as WeChat did, with opaque bodies; nothing else failed at all.
    let wechat_routes: Vec<String> = calls
        .iter()
        .chain(&finishes)
        .filter(|c| c.reaches_wechat)
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    for (name, answer) in &answers {
        if wechat_routes.contains(name) {
            assert!(
                [502, 504].contains(&answer.status) || answer.status < 500,
                "{hostility:?} {name}: {} {}",
                answer.status,
                answer.body
            );
        } else {
            assert!(
                answer.status < 500,
                "{hostility:?} {name}: {} {}",
                answer.status,
                answer.body
            );
        }
    }
    let failed_at_wechat = answers
        .iter()
        .filter(|(name, answer)| wechat_routes.contains(name) && answer.status >= 500)
        .count();
    assert!(
        failed_at_wechat >= 3,
        "{hostility:?}: the hostile WeChat was reached and failed ({failed_at_wechat})"
    );

    // Let the last log lines arrive, then look everywhere.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs = served.logs();
    assert!(
        logs.iter().any(|l| l.contains("request failed")),
        "{hostility:?}: the failures are logged"
    );
    for secret in secrets() {
        for (name, answer) in &answers {
            assert!(
                !answer.body.contains(secret) && !answer.headers.contains(secret),
                "{hostility:?} {name} answered a secret ({secret}): {} {}",
                answer.headers,
                answer.body
            );
        }
        for line in &logs {
            assert!(
                !line.contains(secret),
                "{hostility:?}: a log line holds a secret ({secret}): {line}"
            );
        }
    }
    // Our own tokens are in the answers that issue them, and nowhere in the logs.
    for token in [&customer_token, &staff_token]
        .into_iter()
        .chain(&session_tokens)
    {
        for line in &logs {
            assert!(
                !line.contains(token.as_str()),
                "a log line holds a token: {line}"
            );
        }
    }
}

/// Starts an H5 login of `scope` and follows WeChat's redirect back, in one browser (its login cookie).
/// The start's answer (under its request line) and the finishing call with its answer.
async fn h5_login(
    client: &reqwest::Client,
    base: &str,
    scope: &str,
) -> ((String, Answer), Call, Answer) {
    let start_path = format!("/h5/auth/start?next=%2Fh5%2Fq4&scope={scope}");
    let start = client
        .get(format!("{base}{start_path}"))
        .send()
        .await
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let login_cookie = start
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("wxc_oauth="))
        .unwrap();
    let state = url::Url::parse(&location.replace("#wechat_redirect", ""))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let mut finish = call(
        "GET",
        format!(
            "/h5/auth/callback?code={OAUTH_CODE}&state={}",
            url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
        ),
    )
    .wechat();
    finish.cookie = Some(login_cookie);
    let started = Answer {
        status: start.status().as_u16(),
        headers: format!("{:?}", start.headers()),
        body: start.text().await.unwrap(),
    };
    let finished = send(client, base, &finish).await;
    ((format!("GET {start_path}"), started), finish, finished)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_leaks_when_wechat_refuses_connections() {
    sweep(Hostility::Refuses).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_leaks_when_wechat_hangs_past_the_timeout() {
    sweep(Hostility::Hangs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_leaks_when_wechat_resets_mid_body() {
    sweep(Hostility::Resets).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_leaks_when_logins_succeed_and_the_next_call_resets() {
    sweep(Hostility::AnswersLoginsThenResets).await;
}

/// Whether a called path (with its query) is an instance of an OpenAPI path template (`/a/{id}/b`).
fn matches_template(template: &str, called: &str) -> bool {
    let path = called.split('?').next().unwrap_or_default();
    let (wanted, given): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), path.split('/').collect());
    wanted.len() == given.len()
        && wanted
            .iter()
            .zip(&given)
            .all(|(w, g)| (w.starts_with('{') && w.ends_with('}') && !g.is_empty()) || w == g)
}
