//! H5 pages inside WeChat log in through the official account's web OAuth. `/h5/auth/start` writes nothing
//! to the store: the pending login (`next`, scope, expiry) rides in a signed, short-lived cookie on the browser
//! that started it, and the `state` sent to WeChat is a random id with an HMAC tag. The callback accepts a state
//! only with that browser's cookie naming the same id (so nobody can log a victim in as themselves with a
//! captured callback link), within ten minutes, once (a store marker refuses a replay).

use std::time::Duration;

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::auth::{IssuedToken, JwtKeys};
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;
use crate::users::service::{self, Channel};
use crate::wechat::client::{App, WeChatError};

const STATE_TTL: Duration = Duration::from_secs(600);
/// The cookie that binds a login in progress to the browser that started it. A second start in the same browser
/// replaces it, so only the latest login of a browser can finish (an older tab answers `invalid_state`).
pub const LOGIN_COOKIE: &str = "wxc_oauth";
const TAG_BYTES: usize = 16;
const STATE_PURPOSE: &[u8] = b"wxcampaign-oauth-state|";
const COOKIE_PURPOSE: &[u8] = b"wxcampaign-oauth-login|";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Silent: the openid only.
    Base,
    /// Asks the user; gives the profile (and the unionid).
    Userinfo,
}

impl Scope {
    fn wechat_name(self) -> &'static str {
        match self {
            Scope::Base => "snsapi_base",
            Scope::Userinfo => "snsapi_userinfo",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "base" => Some(Scope::Base),
            "userinfo" => Some(Scope::Userinfo),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scope::Base => "base",
            Scope::Userinfo => "userinfo",
        }
    }
}

/// What the login cookie carries: `{id}.{expires unix}.{scope}.{base64 next}.{tag}`.
struct PendingLogin {
    id: String,
    expires_at: i64,
    scope: Scope,
    next: String,
}

impl PendingLogin {
    fn signed_fields(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.id,
            self.expires_at,
            self.scope.as_str(),
            URL_SAFE_NO_PAD.encode(&self.next)
        )
    }

    fn to_cookie(&self, state: &AppState) -> String {
        let fields = self.signed_fields();
        let tag = URL_SAFE_NO_PAD.encode(tag(state, COOKIE_PURPOSE, &fields));
        format!("{fields}.{tag}")
    }

    /// The cookie's login, if its tag is ours and it has not expired.
    fn from_cookie(state: &AppState, cookie: &str, now: DateTime<Utc>) -> Option<Self> {
        let (fields, given_tag) = cookie.rsplit_once('.')?;
        verify_tag(state, COOKIE_PURPOSE, fields, given_tag)?;
        let mut parts = fields.splitn(4, '.');
        let id = parts.next()?.to_owned();
        let expires_at: i64 = parts.next()?.parse().ok()?;
        let scope = Scope::parse(parts.next()?)?;
        let next = String::from_utf8(URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()?;
        (expires_at > now.timestamp()).then_some(Self {
            id,
            expires_at,
            scope,
            next,
        })
    }
}

/// `next` must be a path on this site: absolute, not protocol-relative, no backslashes or control characters.
pub fn validate_next(next: &str) -> Result<(), AppError> {
    let ok = next.len() <= 512
        && next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(
            AppError::new(ErrorCode::InvalidNext, "next must be a path on this site")
                .with_field("next"),
        )
    }
}

fn mac(state: &AppState, purpose: &[u8], data: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(state.settings.auth.jwt_secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
    mac.update(purpose);
    mac.update(data.as_bytes());
    mac
}

fn tag(state: &AppState, purpose: &[u8], data: &str) -> Vec<u8> {
    mac(state, purpose, data).finalize().into_bytes()[..TAG_BYTES].to_vec()
}

/// Constant-time check of a base64 tag over `data`.
fn verify_tag(state: &AppState, purpose: &[u8], data: &str, given: &str) -> Option<()> {
    let given = URL_SAFE_NO_PAD.decode(given).ok()?;
    if given.len() != TAG_BYTES {
        return None;
    }
    mac(state, purpose, data).verify_truncated_left(&given).ok()
}

fn invalid_state() -> AppError {
    AppError::new(ErrorCode::InvalidState,
        "the login link is invalid, expired, already used or was opened in another browser: start again",
    )
}

/// A login to start: WeChat's authorize URL to send the browser to, and the login cookie to set on it.
pub struct StartedLogin {
    pub location: String,
    pub cookie: Cookie<'static>,
}

/// Only the two login routes ever see the login cookie: its path is theirs as the browser sees them (behind
/// `application.base_url`, which may carry a path prefix).
fn login_cookie_path(state: &AppState) -> String {
    let prefix = url::Url::parse(&state.settings.application.base_url)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{prefix}/h5/auth")
}

/// An H5 cookie: HttpOnly, SameSite=Lax, Secure where configured (production).
fn h5_cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    path: String,
    max_age_secs: u64,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .secure(state.settings.auth.session_cookie_secure)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(
            i64::try_from(max_age_secs).unwrap_or(i64::MAX),
        ))
        .finish()
}

fn login_cookie(state: &AppState, value: String) -> Cookie<'static> {
    h5_cookie(
        state,
        LOGIN_COOKIE,
        value,
        login_cookie_path(state),
        STATE_TTL.as_secs(),
    )
}

/// The customer's H5 session: the token, for every page of the site.
pub fn session_cookie(state: &AppState, token: &IssuedToken) -> Cookie<'static> {
    h5_cookie(
        state,
        crate::auth::SESSION_COOKIE,
        token.token.clone(),
        "/".into(),
        token.expires_in,
    )
}

/// Clears the login cookie once its login finished.
pub fn spent_login_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = login_cookie(state, String::new());
    cookie.make_removal();
    cookie
}

/// WeChat's authorize page (parameters in the documented order) and the cookie that binds the login.
pub fn start(
    state: &AppState,
    next: &str,
    scope: Scope,
    now: DateTime<Utc>,
) -> Result<StartedLogin, AppError> {
    validate_next(next)?;
    let mut random = [0u8; 16];
    rand::rng().fill_bytes(&mut random);
    let id = URL_SAFE_NO_PAD.encode(random);
    let signed_state = format!(
        "{id}.{}",
        URL_SAFE_NO_PAD.encode(tag(state, STATE_PURPOSE, &id))
    );
    let pending = PendingLogin {
        id,
        expires_at: now.timestamp() + STATE_TTL.as_secs() as i64,
        scope,
        next: next.to_owned(),
    };
    let redirect_uri = format!(
        "{}/h5/auth/callback",
        state.settings.application.base_url.trim_end_matches('/')
    );
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let location = format!(
        "{}?appid={}&redirect_uri={}&response_type=code&scope={}&state={}#wechat_redirect",
        state.settings.wechat.oauth_authorize_url,
        encode(state.wechat.app_id(App::OfficialAccount)),
        encode(&redirect_uri),
        scope.wechat_name(),
        encode(&signed_state)
    );
    Ok(StartedLogin {
        location,
        cookie: login_cookie(state, pending.to_cookie(state)),
    })
}

/// The customer's token and where to send them, after checking the state and exchanging the (single-use) code.
pub async fn finish(
    state: &AppState,
    jwt: &JwtKeys,
    code: &str,
    signed_state: &str,
    login_cookie: Option<&str>,
) -> Result<(IssuedToken, String), AppError> {
    crate::users::login::validate_code(code)?;
    let (id, given_tag) = signed_state.split_once('.').ok_or_else(invalid_state)?;
    verify_tag(state, STATE_PURPOSE, id, given_tag).ok_or_else(invalid_state)?;
    let pending = login_cookie
        .and_then(|cookie| PendingLogin::from_cookie(state, cookie, state.clock.now()))
        .filter(|pending| pending.id == id)
        .ok_or_else(invalid_state)?;
    let first_use = state.store.dedupe("oauth_state", id, STATE_TTL).await?;
    if !first_use {
        return Err(invalid_state());
    }

    let grant = state
        .wechat
        .oauth_exchange(code)
        .await
        .map_err(code_error)?;
    let unionid = match pending.scope {
        Scope::Userinfo => state
            .wechat
            .oauth_userinfo(&grant)
            .await?
            .unionid
            .or(grant.unionid.clone()),
        Scope::Base => grant.unionid.clone(),
    };
    let user = service::link_user(
        &state.db,
        Channel::OfficialAccount,
        &grant.openid,
        unionid.as_deref(),
        state.context().now,
    )
    .await?;
    let token = jwt.issue_customer(user.id)?;
    Ok((token, pending.next))
}

fn code_error(error: WeChatError) -> AppError {
    match error.errcode() {
        Some(40029 | 40163) => AppError::new(
            ErrorCode::InvalidCode,
            "the code is invalid, expired or already used",
        ),
        _ => error.into(),
    }
}
