//! Typed settings, loaded in layers: `config/base.toml`, then `config/{APP_ENVIRONMENT}.toml`, then `APP__SECTION__KEY`
//! environment variables. Unknown keys and wrong types stop start-up with a message that names the key.
//! One file past 500 lines on purpose: every setting, its meaning and its check read together, as README's table.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Marks every secret shipped in `config/`: production refuses to start while any secret still carries it.
pub const DEV_SECRET_MARKER: &str = "dev-only";
/// The EncodingAESKey shipped in `config/` (base64 has no `-`, so it cannot carry the marker above).
pub const DEV_ENCODING_AES_KEY: &str = "devonlyEncodingAESKeyForLocalTestingOnly000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Local,
    Test,
    Production,
}

impl Environment {
    pub fn as_str(&self) -> &'static str {
        match self {
            Environment::Local => "local",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }
}

impl TryFrom<String> for Environment {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.to_lowercase().as_str() {
            "local" => Ok(Self::Local),
            "test" => Ok(Self::Test),
            "production" => Ok(Self::Production),
            other => Err(format!(
                "APP_ENVIRONMENT: `{other}` is not one of local, test, production"
            )),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub application: ApplicationSettings,
    pub database: DatabaseSettings,
    pub store: StoreSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub wechat: WeChatSettings,
    pub telemetry: TelemetrySettings,
    pub demo: DemoSettings,
    pub jobs: JobsSettings,
    pub quiz: QuizSettings,
    pub behaviour: BehaviourSettings,
    pub segments: SegmentSettings,
    pub push: PushSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushSettings {
    /// No push reaches a customer from this time (Asia/Shanghai, `HH:MM`) ...
    pub quiet_hours_start: String,
    /// ... until this one, the next morning.
    pub quiet_hours_end: String,
    /// A customer receives at most this many pushes an Asia/Shanghai day, over every push and journey.
    pub per_customer_daily: u32,
    /// ... and this many an ISO week.
    pub per_customer_weekly: u32,
    /// WeChat's limit: a follower receives at most 4 mass messages a month.
    pub mass_per_customer_monthly: u32,
    /// The account's template messages a day (WeChat's cap for the account).
    pub template_daily_cap: u32,
    /// WeChat's limit on mass-send calls a minute.
    pub mass_calls_per_minute: u32,
    /// Delivery workers on this instance (0: this instance delivers nothing; the CLI still can).
    pub workers: usize,
    /// A delivery message a consumer took and did not finish in this long is taken over by another.
    pub reclaim_after_secs: u64,
    /// How long a channel rests after WeChat said "too fast" (45011) before it is tried again.
    pub rate_backoff_secs: u64,
    /// `formal`, `trial` or `developer`: which mini-program a subscribe message opens.
    pub miniprogram_state: String,
}

impl PushSettings {
    /// The quiet hours as minutes after Shanghai midnight: (start, end).
    pub fn quiet_minutes(&self) -> Option<(u32, u32)> {
        let minutes = |text: &str| {
            let (hours, minutes) = text.split_once(':')?;
            let (hours, minutes): (u32, u32) = (hours.parse().ok()?, minutes.parse().ok()?);
            (hours < 24 && minutes < 60 && text.len() == 5).then_some(hours * 60 + minutes)
        };
        Some((
            minutes(&self.quiet_hours_start)?,
            minutes(&self.quiet_hours_end)?,
        ))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourSettings {
    /// Page and content views older than this are deleted (by the `behaviour.purge` job).
    pub retention_days: u32,
    /// The content categories a `content_view` may name; anything else is refused.
    pub content_categories: Vec<String>,
    /// At most this many events in one `POST /api/v1/events`.
    pub max_events_per_request: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSettings {
    /// A customer first seen within this many days is of tier `new`.
    pub new_customer_days: u32,
    /// A customer not active for this many days is of tier `dormant`.
    pub dormant_days: u32,
    /// The asset tiers the CRM export may give (`users import-tiers`).
    pub asset_tiers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuizSettings {
    /// Added to each question's time for the network between the server and the phone.
    pub answer_grace_millis: u64,
    /// Answers sooner than this after their question was shown are flagged (kept off the leaderboard).
    pub too_fast_millis: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsSettings {
    /// Run the scheduler (lifecycle transitions and periodic jobs) on this instance.
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSettings {
    pub host: String,
    pub port: u16,
    /// Public base URL, used for links we hand out (OAuth redirects, H5 pages).
    pub base_url: String,
    /// Largest JSON request body accepted, in bytes.
    pub json_body_limit: usize,
    /// Seconds in-flight requests get to finish on SIGTERM/SIGINT.
    pub shutdown_timeout_secs: u64,
    /// Seconds an idle client connection is kept open for its next request (a customer tapping again).
    pub keep_alive_secs: u64,
    /// Peers whose `X-Forwarded-For` header is believed (load balancers), as addresses or CIDR ranges.
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` or `postgres://user:password@host/db`.
    pub url: SecretString,
    pub max_connections: u32,
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `memory://` (single instance), `redis://host:port/db`, or a Redis Cluster by some of its nodes:
    /// `redis+cluster://host:port,host:port`.
    pub url: SecretString,
    /// Prefix of every key, so several deployments (or test runs) can share one Redis.
    pub key_prefix: String,
    /// Says on purpose that exactly one instance runs: the only way production accepts `memory://`, whose rate
    /// limits, pause flags, locks and dedupe would otherwise be each instance's own.
    pub single_instance: bool,
    /// How long connecting to Redis may take before a request answers 503.
    pub connect_timeout_ms: u64,
    /// How long one Redis command may take before a request answers 503 (no hang to the client's timeout).
    pub response_timeout_ms: u64,
    /// Reconnect attempts per failed command before it answers 503.
    pub retries: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub issuer: String,
    pub audience: String,
    pub customer_token_ttl_secs: u64,
    pub staff_token_ttl_secs: u64,
    /// Clock skew tolerated when checking `exp`, in seconds.
    pub leeway_secs: u64,
    /// `POST /api/v1/auth/dev-login`: log in as any openid without WeChat. Never in production.
    pub dev_login: bool,
    /// Phone numbers are stored AES-256-GCM encrypted under SHA-256 of this secret.
    pub phone_encryption_secret: SecretString,
    /// Mark the H5 session cookie `Secure` (HTTPS only). Production requires it.
    pub session_cookie_secure: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitRule {
    /// Requests allowed in one window.
    pub limit: u32,
    pub window_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub customer_per_user: RateLimitRule,
    pub customer_per_ip: RateLimitRule,
    /// `/h5` pages and their login, per client address.
    pub h5_per_ip: RateLimitRule,
    /// `/admin/v1`, per client address.
    pub staff_per_ip: RateLimitRule,
    /// Staff login attempts per (username, address) and, separately, per address.
    pub staff_login: RateLimitRule,
    /// Failed staff logins per username from anywhere: the slow backstop that a successful login never spends.
    pub staff_login_failures: RateLimitRule,
    /// Callback requests refused (bad signature, stale, malformed) per address. WeChat's valid messages never
    /// spend it, so a busy account is never throttled; a flood of junk is answered 429 without the work.
    pub callback_refusals_per_ip: RateLimitRule,
    /// `POST /api/v1/events` per customer, on top of `customer_per_user`.
    pub behaviour_events: RateLimitRule,
}

impl RateLimitSettings {
    fn named(&self) -> [(&'static str, RateLimitRule); 8] {
        [
            ("rate_limit.customer_per_user", self.customer_per_user),
            ("rate_limit.customer_per_ip", self.customer_per_ip),
            ("rate_limit.h5_per_ip", self.h5_per_ip),
            ("rate_limit.staff_per_ip", self.staff_per_ip),
            ("rate_limit.staff_login", self.staff_login),
            ("rate_limit.staff_login_failures", self.staff_login_failures),
            (
                "rate_limit.callback_refusals_per_ip",
                self.callback_refusals_per_ip,
            ),
            ("rate_limit.behaviour_events", self.behaviour_events),
        ]
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeChatSettings {
    /// Where every outgoing WeChat API call goes; tests point it at a fake.
    pub api_base_url: String,
    pub request_timeout_secs: u64,
    /// `stable` (`/cgi-bin/stable_token`, which leaves tokens held elsewhere valid) or `token` (`/cgi-bin/token`).
    pub token_endpoint: TokenEndpoint,
    /// Access tokens and tickets are refreshed this long before WeChat says they expire.
    pub token_refresh_margin_secs: u64,
    /// Where H5 pages are sent to authorise (WeChat's web OAuth page).
    pub oauth_authorize_url: String,
    /// Hosts whose pages may get a JS-SDK configuration.
    pub jssdk_domains: Vec<String>,
    pub official_account: OfficialAccountSettings,
    pub mini_program: WeChatAppSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenEndpoint {
    Stable,
    Token,
}

/// How the official account's callback is secured (WeChat's 明文 / 兼容 / 安全 modes). `plain` and `compatible`
/// accept plain and encrypted messages alike; `safe` accepts only encrypted ones and is what a bank runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackMode {
    Plain,
    Compatible,
    Safe,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficialAccountSettings {
    pub app_id: String,
    pub app_secret: SecretString,
    /// The callback Token configured on WeChat's side.
    pub token: SecretString,
    /// 43-character EncodingAESKey.
    pub encoding_aes_key: SecretString,
    /// The key before the last rotation, still accepted for incoming messages; empty when there is none.
    pub previous_encoding_aes_key: SecretString,
    pub callback_mode: CallbackMode,
    /// Requests signed further than this from now are refused as stale.
    pub callback_timestamp_window_secs: u64,
    /// Largest callback body accepted, in bytes.
    pub callback_body_limit: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeChatAppSettings {
    pub app_id: String,
    pub app_secret: SecretString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub format: LogFormat,
    /// A `tracing` filter directive, e.g. `info` or `wxcampaign=debug,info`; `RUST_LOG` overrides it.
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    /// Load the demo calendar into an empty database at start-up. Never in production.
    pub seed: bool,
    /// The calendar file the demo loads (relative to the working directory, or to the crate when run by cargo).
    pub calendar_file: String,
    /// The question banks the demo loads (a list of slug, name and CSV file), same path rules.
    pub quiz_banks_file: String,
    /// The demo's saved segments and journeys (journeys off), same path rules.
    pub pushes_file: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration: {key}: {problem}")]
    Invalid { key: String, problem: String },
}

impl ConfigError {
    fn invalid(key: &str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Where settings come from. `from_process` reads the real environment; tests build one by hand so that
/// they never touch process-global environment variables.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub config_dir: PathBuf,
    pub environment: Environment,
    pub overrides: HashMap<String, String>,
}

impl ConfigSource {
    pub fn from_process() -> Result<Self, ConfigError> {
        let environment = std::env::var("APP_ENVIRONMENT")
            .unwrap_or_else(|_| "local".into())
            .try_into()
            .map_err(ConfigError::Load)?;
        let config_dir = std::env::var("APP_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| default_config_dir());
        let overrides = std::env::vars()
            .filter(|(k, _)| k.starts_with("APP__"))
            .collect();
        Ok(Self {
            config_dir,
            environment,
            overrides,
        })
    }
}

/// `config/` next to the working directory, or the crate's own when run from elsewhere with cargo.
fn default_config_dir() -> PathBuf {
    let local = PathBuf::from("config");
    if local.join("base.toml").exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

impl Settings {
    pub fn load(source: &ConfigSource) -> Result<Self, ConfigError> {
        let base = source.config_dir.join("base.toml");
        let layer = source
            .config_dir
            .join(format!("{}.toml", source.environment.as_str()));
        if !base.exists() {
            return Err(ConfigError::Load(format!(
                "{} not found (set APP_CONFIG_DIR to the config folder)",
                base.display()
            )));
        }
        let env_layer = config::Environment::with_prefix("APP")
            .prefix_separator("__")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("application.trusted_proxies")
            .with_list_parse_key("wechat.jssdk_domains")
            .try_parsing(true)
            .source(Some(source.overrides.clone()));
        let raw = config::Config::builder()
            .add_source(config::File::from(base))
            .add_source(config::File::from(layer).required(false))
            .add_source(env_layer)
            .build()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        let settings: Settings = raw
            .try_deserialize()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        settings.validate(source.environment)?;
        Ok(settings)
    }

    /// Checks that serde cannot express: ranges, formats, and what production forbids.
    pub fn validate(&self, environment: Environment) -> Result<(), ConfigError> {
        let app = &self.application;
        if app.json_body_limit < 1024 || app.json_body_limit > 16 * 1024 * 1024 {
            return Err(ConfigError::invalid(
                "application.json_body_limit",
                "must be between 1024 and 16777216 bytes",
            ));
        }
        if !(1..=3600).contains(&app.keep_alive_secs) {
            return Err(ConfigError::invalid(
                "application.keep_alive_secs",
                "1 to 3,600 seconds",
            ));
        }
        self.trusted_proxies()?;
        let db_url = self.database.url.expose_secret();
        if !(db_url.starts_with("sqlite:") || db_url.starts_with("postgres://")) {
            return Err(ConfigError::invalid(
                "database.url",
                "must start with sqlite: or postgres://",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::invalid(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        for (key, millis) in [
            ("store.connect_timeout_ms", self.store.connect_timeout_ms),
            ("store.response_timeout_ms", self.store.response_timeout_ms),
        ] {
            if !(10..=60_000).contains(&millis) {
                return Err(ConfigError::invalid(key, "10 to 60,000 milliseconds"));
            }
        }
        if self.store.retries > 10 {
            return Err(ConfigError::invalid("store.retries", "0 to 10"));
        }
        let store_url = self.store.url.expose_secret();
        let cluster_nodes = store_url.strip_prefix("redis+cluster://").map(|nodes| {
            nodes
                .split(',')
                .filter(|n| !n.trim_matches('/').trim().is_empty())
                .count()
        });
        if !(store_url == "memory://"
            || store_url.starts_with("redis://")
            || cluster_nodes > Some(0))
        {
            return Err(ConfigError::invalid(
                "store.url",
                "must be memory://, redis://... or redis+cluster://host:port,host:port",
            ));
        }
        if self.store.key_prefix.is_empty()
            || !self
                .store
                .key_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ConfigError::invalid(
                "store.key_prefix",
                "must be non-empty letters, digits, '_' or '-'",
            ));
        }
        if self.auth.phone_encryption_secret.expose_secret().len() < 32 {
            return Err(ConfigError::invalid(
                "auth.phone_encryption_secret",
                "must be at least 32 bytes",
            ));
        }
        if self.wechat.token_refresh_margin_secs > 1800 {
            return Err(ConfigError::invalid(
                "wechat.token_refresh_margin_secs",
                "must be at most 1800 (tokens live 7200 s)",
            ));
        }
        for (key, ttl) in [
            (
                "auth.customer_token_ttl_secs",
                self.auth.customer_token_ttl_secs,
            ),
            ("auth.staff_token_ttl_secs", self.auth.staff_token_ttl_secs),
        ] {
            if !(60..=2_592_000).contains(&ttl) {
                return Err(ConfigError::invalid(
                    key,
                    "must be 60 to 2,592,000 (30 days)",
                ));
            }
        }
        if self.auth.jwt_secret.expose_secret().len() < 32 {
            return Err(ConfigError::invalid(
                "auth.jwt_secret",
                "must be at least 32 bytes",
            ));
        }
        for (key, rule) in self.rate_limit.named() {
            if !(1..=1_000_000).contains(&rule.limit) || !(1..=604_800).contains(&rule.window_secs)
            {
                return Err(ConfigError::invalid(
                    key,
                    "limit must be 1 to 1,000,000 and window_secs 1 to 604,800 (a week)",
                ));
            }
        }
        if !(self.wechat.api_base_url.starts_with("http://")
            || self.wechat.api_base_url.starts_with("https://"))
        {
            return Err(ConfigError::invalid(
                "wechat.api_base_url",
                "must be an http(s) URL",
            ));
        }
        if self.quiz.answer_grace_millis > 30_000 {
            return Err(ConfigError::invalid(
                "quiz.answer_grace_millis",
                "must be at most 30000",
            ));
        }
        if self.quiz.too_fast_millis > 10_000 {
            return Err(ConfigError::invalid(
                "quiz.too_fast_millis",
                "must be at most 10000 (the shortest question time is 5 s)",
            ));
        }
        self.validate_segments()?;
        self.validate_push()?;
        self.validate_official_account()?;
        if environment == Environment::Production {
            self.validate_production()?;
        }
        Ok(())
    }

    fn validate_segments(&self) -> Result<(), ConfigError> {
        let behaviour = &self.behaviour;
        if !(1..=1095).contains(&behaviour.retention_days) {
            return Err(ConfigError::invalid(
                "behaviour.retention_days",
                "1 to 1,095 days (three years)",
            ));
        }
        if !(1..=100).contains(&behaviour.max_events_per_request) {
            return Err(ConfigError::invalid(
                "behaviour.max_events_per_request",
                "1 to 100",
            ));
        }
        let label = |text: &String| {
            (1..=32).contains(&text.chars().count())
                && !text.chars().any(|c| c.is_control() || c == ',' || c == '"')
        };
        for (key, labels) in [
            (
                "behaviour.content_categories",
                &behaviour.content_categories,
            ),
            ("segments.asset_tiers", &self.segments.asset_tiers),
        ] {
            let unique: std::collections::HashSet<&String> = labels.iter().collect();
            if labels.is_empty() || !labels.iter().all(label) || unique.len() != labels.len() {
                return Err(ConfigError::invalid(
                    key,
                    "one or more distinct labels of 1 to 32 characters, without commas or quotes",
                ));
            }
        }
        for (key, days) in [
            (
                "segments.new_customer_days",
                self.segments.new_customer_days,
            ),
            ("segments.dormant_days", self.segments.dormant_days),
        ] {
            if !(1..=365).contains(&days) {
                return Err(ConfigError::invalid(key, "1 to 365 days"));
            }
        }
        Ok(())
    }

    fn validate_push(&self) -> Result<(), ConfigError> {
        let push = &self.push;
        if push.quiet_minutes().is_none() {
            return Err(ConfigError::invalid(
                "push.quiet_hours_start",
                "quiet_hours_start and quiet_hours_end are HH:MM (00:00 to 23:59)",
            ));
        }
        for (key, value, max) in [
            ("push.per_customer_daily", push.per_customer_daily, 100),
            ("push.per_customer_weekly", push.per_customer_weekly, 500),
            (
                "push.mass_per_customer_monthly",
                push.mass_per_customer_monthly,
                4,
            ),
            (
                "push.template_daily_cap",
                push.template_daily_cap,
                100_000_000,
            ),
            ("push.mass_calls_per_minute", push.mass_calls_per_minute, 60),
        ] {
            if !(1..=max).contains(&value) {
                return Err(ConfigError::invalid(key, format!("1 to {max}")));
            }
        }
        if push.workers > 64 {
            return Err(ConfigError::invalid("push.workers", "0 to 64"));
        }
        for (key, secs) in [
            ("push.reclaim_after_secs", push.reclaim_after_secs),
            ("push.rate_backoff_secs", push.rate_backoff_secs),
        ] {
            if !(1..=3600).contains(&secs) {
                return Err(ConfigError::invalid(key, "1 to 3,600 seconds"));
            }
        }
        if !["formal", "trial", "developer"].contains(&push.miniprogram_state.as_str()) {
            return Err(ConfigError::invalid(
                "push.miniprogram_state",
                "formal, trial or developer",
            ));
        }
        Ok(())
    }

    fn validate_official_account(&self) -> Result<(), ConfigError> {
        let account = &self.wechat.official_account;
        if account.token.expose_secret().is_empty() {
            return Err(ConfigError::invalid(
                "wechat.official_account.token",
                "must not be empty",
            ));
        }
        let key_ok = |key: &SecretString| decode_encoding_aes_key(key.expose_secret()).is_some();
        if !key_ok(&account.encoding_aes_key) {
            return Err(ConfigError::invalid(
                "wechat.official_account.encoding_aes_key",
                "must be the 43-character EncodingAESKey",
            ));
        }
        if !account.previous_encoding_aes_key.expose_secret().is_empty()
            && !key_ok(&account.previous_encoding_aes_key)
        {
            return Err(ConfigError::invalid(
                "wechat.official_account.previous_encoding_aes_key",
                "must be empty or a 43-character EncodingAESKey",
            ));
        }
        if !(1..=3600).contains(&account.callback_timestamp_window_secs) {
            return Err(ConfigError::invalid(
                "wechat.official_account.callback_timestamp_window_secs",
                "must be between 1 and 3600",
            ));
        }
        if !(1024..=1024 * 1024).contains(&account.callback_body_limit) {
            return Err(ConfigError::invalid(
                "wechat.official_account.callback_body_limit",
                "must be between 1024 and 1048576 bytes",
            ));
        }
        Ok(())
    }

    fn validate_production(&self) -> Result<(), ConfigError> {
        if self.auth.dev_login {
            return Err(ConfigError::invalid(
                "auth.dev_login",
                "must be false in production",
            ));
        }
        if self.demo.seed {
            return Err(ConfigError::invalid(
                "demo.seed",
                "must be false in production",
            ));
        }
        if !self.auth.session_cookie_secure {
            return Err(ConfigError::invalid(
                "auth.session_cookie_secure",
                "must be true in production",
            ));
        }
        let secrets = [
            ("auth.jwt_secret", &self.auth.jwt_secret),
            (
                "auth.phone_encryption_secret",
                &self.auth.phone_encryption_secret,
            ),
            (
                "wechat.official_account.app_secret",
                &self.wechat.official_account.app_secret,
            ),
            (
                "wechat.mini_program.app_secret",
                &self.wechat.mini_program.app_secret,
            ),
            (
                "wechat.official_account.token",
                &self.wechat.official_account.token,
            ),
        ];
        for (key, secret) in secrets {
            let value = secret.expose_secret();
            if value.is_empty() || value.contains(DEV_SECRET_MARKER) {
                return Err(ConfigError::invalid(
                    key,
                    "still has the default development value; set a real secret",
                ));
            }
        }
        let account = &self.wechat.official_account;
        for (key, secret) in [
            (
                "wechat.official_account.encoding_aes_key",
                &account.encoding_aes_key,
            ),
            (
                "wechat.official_account.previous_encoding_aes_key",
                &account.previous_encoding_aes_key,
            ),
        ] {
            if secret.expose_secret() == DEV_ENCODING_AES_KEY {
                return Err(ConfigError::invalid(
                    key,
                    "still has the default development value; set a real secret",
                ));
            }
        }
        if account.callback_mode != CallbackMode::Safe {
            tracing::warn!("wechat.official_account.callback_mode is not `safe` in production");
        }
        if self.store.url.expose_secret() == "memory://" && !self.store.single_instance {
            return Err(ConfigError::invalid(
                "store.url",
                "memory:// keeps state inside one process; set a redis:// URL, or store.single_instance = true \
                 if exactly one instance will ever run",
            ));
        }
        Ok(())
    }

    pub fn trusted_proxies(&self) -> Result<Vec<IpNet>, ConfigError> {
        self.application
            .trusted_proxies
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        ConfigError::invalid(
                            "application.trusted_proxies",
                            format!("`{entry}` is not an IP address or CIDR range"),
                        )
                    })
            })
            .collect()
    }
}

/// Real EncodingAESKeys have non-zero trailing bits, which a strict base64 decoder rejects.
const AES_KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The 32-byte AES key of a 43-character EncodingAESKey (base64 without its `=`), or None. Here, below the
/// WeChat client, so settings are checked with the same rule the message cipher uses.
pub fn decode_encoding_aes_key(encoding_aes_key: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    if encoding_aes_key.len() != 43 {
        return None;
    }
    let bytes = AES_KEY_BASE64.decode(format!("{encoding_aes_key}=")).ok()?;
    bytes.try_into().ok()
}
