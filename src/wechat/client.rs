//! The one place that calls WeChat (WECHAT.md section 2). Access tokens and the JS-SDK ticket are shared by every
//! instance through the store: refreshed before expiry, fetched by one request per instance at a time
//! (single-flight) and one instance at a time (a store lock), re-read after the lock is taken. WeChat reports
//! errors in HTTP-200 bodies, so every body's `errcode` is checked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{TokenEndpoint, WeChatSettings};
use crate::error::{AppError, ErrorCode};
use crate::store::{SharedStore, StoreError};
use crate::telemetry::{mask_openid, mask_phone};

/// Token errors after which the cached token is dropped and the call retried once.
const STALE_TOKEN_CODES: [i64; 3] = [40001, 40014, 42001];
/// `-1`, "system busy": retried with backoff.
const BUSY: i64 = -1;
const BUSY_RETRIES: u32 = 3;
const BUSY_BACKOFF: Duration = Duration::from_millis(100);
/// How long one instance may hold the right to fetch a credential, and how long others wait for it.
const FETCH_LOCK_TTL: Duration = Duration::from_secs(10);
const FETCH_WAIT: Duration = Duration::from_secs(12);

#[derive(Debug, thiserror::Error)]
pub enum WeChatError {
    #[error("WeChat did not answer in time")]
    Timeout,
    #[error("WeChat could not be reached: {0}")]
    Transport(String),
    #[error("WeChat error {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
    #[error("WeChat sent an unexpected response: {0}")]
    Decode(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WeChatError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WeChatError::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }
}

impl From<WeChatError> for AppError {
    /// 5xx bodies say only what failed; the (redacted) detail goes to the log with the error.
    fn from(error: WeChatError) -> Self {
        let (code, message) = match error {
            WeChatError::Store(store_error) => return store_error.into(),
            WeChatError::Timeout => (ErrorCode::WechatTimeout, "WeChat did not answer in time"),
            WeChatError::Transport(_) => {
                (ErrorCode::WechatUnavailable, "WeChat could not be reached")
            }
            WeChatError::Decode(_) => (
                ErrorCode::WechatBadResponse,
                "WeChat sent an unexpected response",
            ),
            WeChatError::Api { .. } => (ErrorCode::WechatError, "WeChat refused the request"),
        };
        AppError::new(code, message).with_source(error)
    }
}

/// A transport failure as text with no URL in it: our URLs carry `secret=`, `access_token=` and login codes
/// in their query strings. The cause chain is kept (it says refused, reset, DNS ...) and redacted again.
fn transport(error: reqwest::Error) -> WeChatError {
    if error.is_timeout() {
        return WeChatError::Timeout;
    }
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    WeChatError::Transport(redact(&text))
}

/// Query parameters whose values must never reach a response or a log line (matched without regard to case).
const SECRET_PARAMETERS: [&str; 10] = [
    "secret",
    "appsecret",
    "access_token",
    "refresh_token",
    "component_access_token",
    "component_appsecret",
    "js_code",
    "code",
    "ticket",
    "session_key",
];

/// `text` with the value of every secret-bearing parameter replaced by `***`, wherever it appears.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let at_boundary = |out: &str| {
        out.chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
    };
    'scan: while !rest.is_empty() {
        if at_boundary(&out) {
            for name in SECRET_PARAMETERS {
                let named = rest
                    .get(..name.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(name));
                if let Some(after) = named
                    .then(|| &rest[name.len()..])
                    .and_then(|r| r.strip_prefix('='))
                {
                    out.push_str(&rest[..name.len()]);
                    out.push_str("=***");
                    let end = after
                        .find(|c: char| {
                            c.is_whitespace()
                                || matches!(c, '&' | '#' | '"' | '\'' | ',' | ';' | ')')
                        })
                        .unwrap_or(after.len());
                    rest = &after[end..];
                    continue 'scan;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Which of the bank's two WeChat apps a call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    OfficialAccount,
    MiniProgram,
}

struct Credentials {
    app_id: String,
    secret: SecretString,
}

pub struct WeChatClient {
    http: reqwest::Client,
    base_url: String,
    store: SharedStore,
    official_account: Credentials,
    mini_program: Credentials,
    token_endpoint: TokenEndpoint,
    refresh_margin: Duration,
    /// One fetch per credential at a time inside this instance.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Deserialize)]
struct Fetched {
    #[serde(alias = "ticket")]
    access_token: String,
    expires_in: u64,
}

impl WeChatClient {
    pub fn new(settings: &WeChatSettings, store: SharedStore) -> Result<Self, WeChatError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.request_timeout_secs))
            .connect_timeout(Duration::from_secs(settings.request_timeout_secs.min(3)))
            .build()
            .map_err(transport)?;
        Ok(Self {
            http,
            base_url: settings.api_base_url.trim_end_matches('/').to_owned(),
            store,
            official_account: Credentials {
                app_id: settings.official_account.app_id.clone(),
                secret: settings.official_account.app_secret.clone(),
            },
            mini_program: Credentials {
                app_id: settings.mini_program.app_id.clone(),
                secret: settings.mini_program.app_secret.clone(),
            },
            token_endpoint: settings.token_endpoint,
            refresh_margin: Duration::from_secs(settings.token_refresh_margin_secs),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    fn credentials(&self, app: App) -> &Credentials {
        match app {
            App::OfficialAccount => &self.official_account,
            App::MiniProgram => &self.mini_program,
        }
    }

    pub fn app_id(&self, app: App) -> &str {
        &self.credentials(app).app_id
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn token_name(&self, app: App) -> String {
        format!("wechat_access_token:{}", self.app_id(app))
    }

    fn ticket_name(&self) -> String {
        format!("wechat_jsapi_ticket:{}", self.official_account.app_id)
    }

    // ---- the shared-credential discipline -------------------------------------------------------------------

    /// The cached credential `name`, fetching it with `fetch` when absent: single-flight in this instance,
    /// one instance at a time through a store lock, and re-read after each wait.
    async fn shared_credential<F, Fut>(&self, name: &str, fetch: F) -> Result<String, WeChatError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Fetched, WeChatError>>,
    {
        if let Some(value) = self.store.credential(name).await? {
            return Ok(value);
        }
        let local = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            in_flight.entry(name.to_owned()).or_default().clone()
        };
        let _one_per_instance = local.lock().await;
        let deadline = Instant::now() + FETCH_WAIT;
        loop {
            if let Some(value) = self.store.credential(name).await? {
                return Ok(value);
            }
            let lock_name = format!("fetch:{name}");
            if let Some(lock) = self.store.lock(&lock_name, FETCH_LOCK_TTL).await? {
                let result = self.fetch_and_store(name, &fetch).await;
                self.store.unlock(&lock_name, &lock).await?;
                return result;
            }
            if Instant::now() >= deadline {
                return Err(WeChatError::Timeout);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn fetch_and_store<F, Fut>(&self, name: &str, fetch: &F) -> Result<String, WeChatError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Fetched, WeChatError>>,
    {
        // Another instance may have stored it between our read and our lock.
        if let Some(value) = self.store.credential(name).await? {
            return Ok(value);
        }
        let fetched = fetch().await?;
        let lifetime = Duration::from_secs(fetched.expires_in);
        let keep = lifetime
            .saturating_sub(self.refresh_margin)
            .max(Duration::from_secs(30));
        self.store
            .put_credential(name, &fetched.access_token, keep)
            .await?;
        tracing::info!(
            credential = name.split(':').next().unwrap_or(""),
            keep_secs = keep.as_secs(),
            "fetched a WeChat credential"
        );
        Ok(fetched.access_token)
    }

    /// The app's access token.
    pub async fn access_token(&self, app: App) -> Result<String, WeChatError> {
        self.shared_credential(&self.token_name(app), || self.fetch_access_token(app))
            .await
    }

    async fn fetch_access_token(&self, app: App) -> Result<Fetched, WeChatError> {
        let credentials = self.credentials(app);
        let mut attempt = 0;
        loop {
            let request = match self.token_endpoint {
                TokenEndpoint::Stable => {
                    self.http
                        .post(self.url("/cgi-bin/stable_token"))
                        .json(&json!({
                            "grant_type": "client_credential",
                            "appid": credentials.app_id,
                            "secret": credentials.secret.expose_secret(),
                            "force_refresh": false,
                        }))
                }
                TokenEndpoint::Token => self.http.get(self.url("/cgi-bin/token")).query(&[
                    ("grant_type", "client_credential"),
                    ("appid", credentials.app_id.as_str()),
                    ("secret", credentials.secret.expose_secret()),
                ]),
            };
            match self.json::<Fetched>(request).await {
                Err(WeChatError::Api { errcode: BUSY, .. }) if attempt < BUSY_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(BUSY_BACKOFF * 2u32.pow(attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// The JS-SDK `jsapi_ticket`, under the same discipline as the token.
    pub async fn jsapi_ticket(&self) -> Result<String, WeChatError> {
        self.shared_credential(&self.ticket_name(), || async {
            self.with_token(App::OfficialAccount, |token| {
                self.http
                    .get(self.url("/cgi-bin/ticket/getticket"))
                    .query(&[("access_token", token), ("type", "jsapi")])
            })
            .await
        })
        .await
    }

    // ---- sending ---------------------------------------------------------------------------------------------

    async fn body(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(Option<String>, Vec<u8>), WeChatError> {
        let response = request.send().await.map_err(transport)?;
        if !response.status().is_success() {
            return Err(WeChatError::Transport(format!(
                "HTTP {}",
                response.status()
            )));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await.map_err(transport)?;
        Ok((content_type, bytes.to_vec()))
    }

    /// A JSON body, with a non-zero `errcode` turned into `WeChatError::Api`.
    async fn json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, WeChatError> {
        let (_, bytes) = self.body(request).await?;
        decode(&bytes)
    }

    /// Calls with the app's access token: a stale token is expired (only if still the one that failed) and the
    /// call retried once with a fresh one; `-1` is retried with backoff; anything else is surfaced.
    async fn with_token<T, B>(&self, app: App, build: B) -> Result<T, WeChatError>
    where
        T: DeserializeOwned,
        B: Fn(&str) -> reqwest::RequestBuilder,
    {
        let bytes = self.raw_with_token(app, build).await?;
        decode(&bytes.1)
    }

    async fn raw_with_token<B>(
        &self,
        app: App,
        build: B,
    ) -> Result<(Option<String>, Vec<u8>), WeChatError>
    where
        B: Fn(&str) -> reqwest::RequestBuilder,
    {
        let mut refreshed = false;
        let mut busy = 0;
        loop {
            let token = self.access_token(app).await?;
            let (content_type, bytes) = self.body(build(&token)).await?;
            match errcode(content_type.as_deref(), &bytes) {
                Some((code, _)) if STALE_TOKEN_CODES.contains(&code) && !refreshed => {
                    tracing::warn!(
                        errcode = code,
                        "WeChat refused our access token; refreshing once"
                    );
                    self.store
                        .expire_credential_if(&self.token_name(app), &token)
                        .await?;
                    refreshed = true;
                }
                Some((BUSY, _)) if busy < BUSY_RETRIES => {
                    busy += 1;
                    tokio::time::sleep(BUSY_BACKOFF * 2u32.pow(busy)).await;
                }
                Some((code, message)) if code != 0 => {
                    return Err(WeChatError::Api {
                        errcode: code,
                        errmsg: redact(&message),
                    });
                }
                _ => return Ok((content_type, bytes)),
            }
        }
    }

    async fn post_with_token<T: DeserializeOwned>(
        &self,
        app: App,
        path: &str,
        body: &Value,
    ) -> Result<T, WeChatError> {
        self.with_token(app, |token| {
            self.http
                .post(self.url(path))
                .query(&[("access_token", token)])
                .json(body)
        })
        .await
    }

    // ---- logins ----------------------------------------------------------------------------------------------

    /// Mini-program login: `wx.login` code to openid, session_key and (when bound) unionid.
    pub async fn code_to_session(&self, js_code: &str) -> Result<MiniProgramSession, WeChatError> {
        let app = &self.mini_program;
        self.json(self.http.get(self.url("/sns/jscode2session")).query(&[
            ("appid", app.app_id.as_str()),
            ("secret", app.secret.expose_secret()),
            ("js_code", js_code),
            ("grant_type", "authorization_code"),
        ]))
        .await
    }

    /// The phone number behind a `getPhoneNumber` code. The watermark is checked by the caller.
    pub async fn phone_number(&self, code: &str) -> Result<PhoneInfo, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            phone_info: PhoneInfo,
        }
        let answer: Answer = self
            .post_with_token(
                App::MiniProgram,
                "/wxa/business/getuserphonenumber",
                &json!({ "code": code }),
            )
            .await?;
        Ok(answer.phone_info)
    }

    /// Web OAuth: the code from the authorize redirect, exchanged once for the user's openid.
    pub async fn oauth_exchange(&self, code: &str) -> Result<OAuthGrant, WeChatError> {
        let app = &self.official_account;
        self.json(self.http.get(self.url("/sns/oauth2/access_token")).query(&[
            ("appid", app.app_id.as_str()),
            ("secret", app.secret.expose_secret()),
            ("code", code),
            ("grant_type", "authorization_code"),
        ]))
        .await
    }

    /// Web OAuth (`snsapi_userinfo`): the user's profile, with the user's own token, not the app's.
    pub async fn oauth_userinfo(&self, grant: &OAuthGrant) -> Result<OAuthUserInfo, WeChatError> {
        self.json(self.http.get(self.url("/sns/userinfo")).query(&[
            ("access_token", grant.access_token.as_str()),
            ("openid", grant.openid.as_str()),
            ("lang", "zh_CN"),
        ]))
        .await
    }

    // ---- messages --------------------------------------------------------------------------------------------

    /// A mini-program subscribe message (spends one consent; 43101 means none is left).
    pub async fn send_subscribe_message(
        &self,
        message: &SubscribeMessage,
    ) -> Result<(), WeChatError> {
        let _: Value = self
            .post_with_token(
                App::MiniProgram,
                "/cgi-bin/message/subscribe/send",
                &to_json(message)?,
            )
            .await?;
        Ok(())
    }

    /// An official-account template message; `client_msg_id` makes a retry idempotent. Returns WeChat's msgid.
    pub async fn send_template_message(
        &self,
        message: &TemplateMessage,
    ) -> Result<i64, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            msgid: i64,
        }
        let answer: Answer = self
            .post_with_token(
                App::OfficialAccount,
                "/cgi-bin/message/template/send",
                &to_json(message)?,
            )
            .await?;
        Ok(answer.msgid)
    }

    /// A customer-service text message (within 48 h of the user's last message).
    pub async fn send_custom_text(&self, openid: &str, content: &str) -> Result<(), WeChatError> {
        let body = json!({ "touser": openid, "msgtype": "text", "text": { "content": content } });
        let _: Value = self
            .post_with_token(App::OfficialAccount, "/cgi-bin/message/custom/send", &body)
            .await?;
        Ok(())
    }

    /// A customer-service news message with one article.
    pub async fn send_custom_news(
        &self,
        openid: &str,
        article: &NewsArticle,
    ) -> Result<(), WeChatError> {
        let body =
            json!({ "touser": openid, "msgtype": "news", "news": { "articles": [article] } });
        let _: Value = self
            .post_with_token(App::OfficialAccount, "/cgi-bin/message/custom/send", &body)
            .await?;
        Ok(())
    }

    /// Mass send of a published article (`mpnews` media id) to one tag; `clientmsgid` makes it idempotent.
    /// Returns WeChat's msg_id, which MASSSENDJOBFINISH reports on.
    pub async fn mass_send_by_tag(
        &self,
        tag_id: i64,
        media_id: &str,
        client_msg_id: &str,
    ) -> Result<i64, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            msg_id: i64,
        }
        let body = json!({
            "filter": { "is_to_all": false, "tag_id": tag_id },
            "mpnews": { "media_id": media_id },
            "msgtype": "mpnews",
            "send_ignore_reprint": 0,
            "clientmsgid": client_msg_id,
        });
        let answer: Answer = self
            .post_with_token(App::OfficialAccount, "/cgi-bin/message/mass/sendall", &body)
            .await?;
        Ok(answer.msg_id)
    }

    // ---- user tags -------------------------------------------------------------------------------------------

    pub async fn create_tag(&self, name: &str) -> Result<Tag, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            tag: Tag,
        }
        let answer: Answer = self
            .post_with_token(
                App::OfficialAccount,
                "/cgi-bin/tags/create",
                &json!({ "tag": { "name": name } }),
            )
            .await?;
        Ok(answer.tag)
    }

    pub async fn list_tags(&self) -> Result<Vec<Tag>, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            tags: Vec<Tag>,
        }
        let answer: Answer = self
            .with_token(App::OfficialAccount, |token| {
                self.http
                    .get(self.url("/cgi-bin/tags/get"))
                    .query(&[("access_token", token)])
            })
            .await?;
        Ok(answer.tags)
    }

    /// Tags up to 50 openids per call; longer lists are sent in batches of 50.
    pub async fn tag_users(&self, tag_id: i64, openids: &[String]) -> Result<(), WeChatError> {
        self.batch_tagging("/cgi-bin/tags/members/batchtagging", tag_id, openids)
            .await
    }

    pub async fn untag_users(&self, tag_id: i64, openids: &[String]) -> Result<(), WeChatError> {
        self.batch_tagging("/cgi-bin/tags/members/batchuntagging", tag_id, openids)
            .await
    }

    async fn batch_tagging(
        &self,
        path: &str,
        tag_id: i64,
        openids: &[String],
    ) -> Result<(), WeChatError> {
        for batch in openids.chunks(50) {
            let body = json!({ "openid_list": batch, "tagid": tag_id });
            let _: Value = self
                .post_with_token(App::OfficialAccount, path, &body)
                .await?;
        }
        Ok(())
    }

    pub async fn user_tag_ids(&self, openid: &str) -> Result<Vec<i64>, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            tagid_list: Vec<i64>,
        }
        let answer: Answer = self
            .post_with_token(
                App::OfficialAccount,
                "/cgi-bin/tags/getidlist",
                &json!({ "openid": openid }),
            )
            .await?;
        Ok(answer.tagid_list)
    }

    // ---- codes and checks ------------------------------------------------------------------------------------

    /// A temporary parametric QR code (`QR_STR_SCENE`): scanning it sends subscribe/SCAN with this scene.
    pub async fn create_scene_qr(
        &self,
        scene: &str,
        expire_seconds: u32,
    ) -> Result<QrTicket, WeChatError> {
        let body = json!({
            "expire_seconds": expire_seconds,
            "action_name": "QR_STR_SCENE",
            "action_info": { "scene": { "scene_str": scene } },
        });
        self.post_with_token(App::OfficialAccount, "/cgi-bin/qrcode/create", &body)
            .await
    }

    /// A mini-program code image. WeChat answers image bytes on success and JSON on error: the body is sniffed.
    pub async fn wxacode_unlimited(
        &self,
        request: &WxaCodeRequest,
    ) -> Result<Vec<u8>, WeChatError> {
        if request.scene.is_empty() || request.scene.len() > 32 {
            return Err(WeChatError::Decode("scene must be 1-32 characters".into()));
        }
        let body = to_json(request)?;
        let (content_type, bytes) = self
            .raw_with_token(App::MiniProgram, |token| {
                self.http
                    .post(self.url("/wxa/getwxacodeunlimit"))
                    .query(&[("access_token", token)])
                    .json(&body)
            })
            .await?;
        if looks_like_json(content_type.as_deref(), &bytes) {
            return Err(WeChatError::Decode("expected an image, got JSON".into()));
        }
        Ok(bytes)
    }

    /// Content security check (v2) of user-written text; returns `pass`, `review` or `risky`.
    pub async fn msg_sec_check(
        &self,
        openid: &str,
        scene: u8,
        content: &str,
    ) -> Result<String, WeChatError> {
        #[derive(Deserialize)]
        struct Verdict {
            suggest: String,
        }
        #[derive(Deserialize)]
        struct Answer {
            result: Verdict,
        }
        let body = json!({ "version": 2, "openid": openid, "scene": scene, "content": content });
        let answer: Answer = self
            .post_with_token(App::MiniProgram, "/wxa/msg_sec_check", &body)
            .await?;
        Ok(answer.result.suggest)
    }
}

/// Where a body failed to parse, without serde's quote of the offending value (it may be a token or a key).
fn shape_error(error: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        error.classify(),
        error.line(),
        error.column()
    )
}

fn to_json(value: &impl Serialize) -> Result<Value, WeChatError> {
    serde_json::to_value(value).map_err(|e| WeChatError::Decode(e.to_string()))
}

fn looks_like_json(content_type: Option<&str>, bytes: &[u8]) -> bool {
    content_type.is_some_and(|t| t.contains("json"))
        || bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{')
}

/// The `errcode` and `errmsg` of a JSON body, if it is JSON and has one.
fn errcode(content_type: Option<&str>, bytes: &[u8]) -> Option<(i64, String)> {
    if !looks_like_json(content_type, bytes) {
        return None;
    }
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let code = value.get("errcode")?.as_i64()?;
    let message = value
        .get("errmsg")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    Some((code, message))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WeChatError> {
    if let Some((code, message)) = errcode(Some("json"), bytes) {
        if code != 0 {
            return Err(WeChatError::Api {
                errcode: code,
                errmsg: redact(&message),
            });
        }
    }
    serde_json::from_slice(bytes).map_err(|e| WeChatError::Decode(shape_error(&e)))
}

#[derive(Clone, Deserialize)]
pub struct MiniProgramSession {
    pub openid: String,
    pub session_key: String,
    #[serde(default)]
    pub unionid: Option<String>,
}

/// Debug output of what WeChat hands us about a person: masked ids, never a key, a token or a number.
impl std::fmt::Debug for MiniProgramSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniProgramSession")
            .field("openid", &mask_openid(&self.openid))
            .field("session_key", &"***")
            .finish()
    }
}

impl std::fmt::Debug for OAuthGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthGrant")
            .field("openid", &mask_openid(&self.openid))
            .field("access_token", &"***")
            .field("scope", &self.scope)
            .finish()
    }
}

impl std::fmt::Debug for PhoneInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneInfo")
            .field("phone", &mask_phone(&self.pure_phone_number))
            .field("watermark", &self.watermark)
            .finish()
    }
}

#[derive(Clone, Deserialize)]
pub struct PhoneInfo {
    #[serde(rename = "purePhoneNumber")]
    pub pure_phone_number: String,
    #[serde(rename = "countryCode", default)]
    pub country_code: String,
    pub watermark: Watermark,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Watermark {
    pub appid: String,
    #[serde(default)]
    pub timestamp: i64,
}

#[derive(Clone, Deserialize)]
pub struct OAuthGrant {
    pub access_token: String,
    pub openid: String,
    #[serde(default)]
    pub unionid: Option<String>,
    #[serde(default)]
    pub scope: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OAuthUserInfo {
    pub openid: String,
    #[serde(default)]
    pub nickname: String,
    #[serde(default)]
    pub unionid: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubscribeMessage {
    pub touser: String,
    pub template_id: String,
    pub page: Option<String>,
    /// `{"thing1": {"value": "..."}, ...}`
    pub data: Value,
    /// `formal`, `trial` or `developer`.
    pub miniprogram_state: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TemplateMessage {
    pub touser: String,
    pub template_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<Value>,
    pub client_msg_id: String,
    pub data: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewsArticle {
    pub title: String,
    pub description: String,
    pub url: String,
    pub picurl: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub count: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct QrTicket {
    pub ticket: String,
    #[serde(default)]
    pub expire_seconds: u32,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WxaCodeRequest {
    /// At most 32 characters: a short lookup code we store, not data.
    pub scene: String,
    pub page: String,
    pub check_path: bool,
    pub env_version: String,
    pub width: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_masks_every_secret_parameter_wherever_it_appears() {
        let text = "error sending request for url (https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=S3CR3T&js_code=C0DE&grant_type=authorization_code): connection refused";
        let redacted = redact(text);
        assert!(
            !redacted.contains("S3CR3T") && !redacted.contains("C0DE"),
            "{redacted}"
        );
        assert!(
            redacted.contains("appid=wx1&secret=***&js_code=***&grant_type"),
            "{redacted}"
        );
        assert_eq!(
            redact("GET /cgi-bin/ticket?access_token=T0K&type=jsapi"),
            "GET /cgi-bin/ticket?access_token=***&type=jsapi"
        );
        assert_eq!(redact("the code=abc is bad"), "the code=*** is bad");
        assert_eq!(
            redact("barcode=1 stays"),
            "barcode=1 stays",
            "only whole parameter names"
        );
        assert_eq!(redact("普通的文字"), "普通的文字");
        assert_eq!(
            redact("{\"Refresh_Token=abc\", next line\nSECRET=x;y"),
            "{\"Refresh_Token=***\", next line\nSECRET=***;y"
        );
    }
}
