//! The one place that calls WeChat (WECHAT.md section 2). Access tokens and the JS-SDK ticket are shared by every
//! instance through the store: refreshed before expiry, fetched by one request per instance at a time
//! (single-flight) and one instance at a time (a store lock), re-read after the lock is taken. WeChat reports
//! errors in HTTP-200 bodies, so every body's `errcode` is checked. The typed calls of each app are
//! `WeChatClient` methods beside this file (`mini_program.rs`, `official_account.rs`); they send through here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{TokenEndpoint, WeChatSettings};
use crate::store::SharedStore;

use super::api_error::transport;
pub use super::api_error::{redact, WeChatError};
pub use super::mini_program::{
    MiniProgramSession, PhoneInfo, SubscribeMessage, Watermark, WxaCodeRequest,
};
pub use super::official_account::{
    NewsArticle, OAuthGrant, OAuthUserInfo, QrTicket, Tag, TemplateMessage,
};

/// Token errors after which the cached token is dropped and the call retried once.
const STALE_TOKEN_CODES: [i64; 3] = [40001, 40014, 42001];
/// `-1`, "system busy": retried with backoff.
const BUSY: i64 = -1;
const BUSY_RETRIES: u32 = 3;
const BUSY_BACKOFF: Duration = Duration::from_millis(100);
/// How long one instance may hold the right to fetch a credential, and how long others wait for it.
const FETCH_LOCK_TTL: Duration = Duration::from_secs(10);
const FETCH_WAIT: Duration = Duration::from_secs(12);

/// Which of the bank's two WeChat apps a call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    OfficialAccount,
    MiniProgram,
}

pub(super) struct Credentials {
    pub(super) app_id: String,
    pub(super) secret: SecretString,
}

pub struct WeChatClient {
    pub(super) http: reqwest::Client,
    pub(super) base_url: String,
    pub(super) store: SharedStore,
    pub(super) official_account: Credentials,
    pub(super) mini_program: Credentials,
    pub(super) token_endpoint: TokenEndpoint,
    pub(super) refresh_margin: Duration,
    /// One fetch per credential at a time inside this instance.
    pub(super) in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
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

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn token_name(&self, app: App) -> String {
        format!("wechat_access_token:{}", self.app_id(app))
    }

    fn ticket_name(&self) -> String {
        format!("wechat_jsapi_ticket:{}", self.official_account.app_id)
    }

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
    pub(super) async fn json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, WeChatError> {
        let (_, bytes) = self.body(request).await?;
        decode(&bytes)
    }

    /// Calls with the app's access token: a stale token is expired (only if still the one that failed) and the
    /// call retried once with a fresh one; `-1` is retried with backoff; anything else is surfaced.
    pub(super) async fn with_token<T, B>(&self, app: App, build: B) -> Result<T, WeChatError>
    where
        T: DeserializeOwned,
        B: Fn(&str) -> reqwest::RequestBuilder,
    {
        let bytes = self.raw_with_token(app, build).await?;
        decode(&bytes.1)
    }

    pub(super) async fn raw_with_token<B>(
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

    pub(super) async fn post_with_token<T: DeserializeOwned>(
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
}

/// Where a body failed to parse, without serde's quote of the offending value (it may be a token or a key).
pub(super) fn shape_error(error: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        error.classify(),
        error.line(),
        error.column()
    )
}

pub(super) fn to_json(value: &impl Serialize) -> Result<Value, WeChatError> {
    serde_json::to_value(value).map_err(|e| WeChatError::Decode(e.to_string()))
}

pub(super) fn looks_like_json(content_type: Option<&str>, bytes: &[u8]) -> bool {
    content_type.is_some_and(|t| t.contains("json"))
        || bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{')
}

/// The `errcode` and `errmsg` of a JSON body, if it is JSON and has one.
pub(super) fn errcode(content_type: Option<&str>, bytes: &[u8]) -> Option<(i64, String)> {
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

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WeChatError> {
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
