//! H5 pages inside WeChat log in through the official account's web OAuth. The `state` we send is a random id
//! with an HMAC tag (forgeries are refused without a lookup); the id names a store record holding `next` and the
//! scope, which the callback takes once (a replay finds nothing) within ten minutes.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::client::{App, WeChatError};
use crate::auth::IssuedToken;
use crate::error::AppError;
use crate::state::AppState;
use crate::users::service::{self, Channel};

const STATE_TTL: Duration = Duration::from_secs(600);
const TAG_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
}

#[derive(Serialize, Deserialize)]
struct PendingLogin {
    next: String,
    scope: Scope,
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
            AppError::bad_request("invalid_next", "next must be a path on this site")
                .with_field("next"),
        )
    }
}

fn tag(state: &AppState, id: &str) -> Vec<u8> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(state.settings.auth.jwt_secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
    mac.update(b"wxcampaign-oauth-state|");
    mac.update(id.as_bytes());
    mac.finalize().into_bytes()[..TAG_BYTES].to_vec()
}

fn invalid_state() -> AppError {
    AppError::bad_request(
        "invalid_state",
        "the login link is invalid, expired or already used",
    )
}

/// Where to send the browser: WeChat's authorize page, parameters in the documented order.
pub async fn start(state: &AppState, next: &str, scope: Scope) -> Result<String, AppError> {
    validate_next(next)?;
    let mut random = [0u8; 16];
    rand::rng().fill_bytes(&mut random);
    let id = URL_SAFE_NO_PAD.encode(random);
    let signed_state = format!("{id}.{}", URL_SAFE_NO_PAD.encode(tag(state, &id)));
    let pending = serde_json::to_string(&PendingLogin {
        next: next.to_owned(),
        scope,
    })
    .map_err(AppError::unexpected)?;
    state
        .store
        .put_credential(&format!("oauth_state:{id}"), &pending, STATE_TTL)
        .await?;
    let redirect_uri = format!(
        "{}/h5/auth/callback",
        state.settings.application.base_url.trim_end_matches('/')
    );
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    Ok(format!(
        "{}?appid={}&redirect_uri={}&response_type=code&scope={}&state={}#wechat_redirect",
        state.settings.wechat.oauth_authorize_url,
        encode(state.wechat.app_id(App::OfficialAccount)),
        encode(&redirect_uri),
        scope.wechat_name(),
        encode(&signed_state)
    ))
}

/// The customer's token and where to send them, after checking the state and exchanging the (single-use) code.
pub async fn finish(
    state: &AppState,
    code: &str,
    signed_state: &str,
) -> Result<(IssuedToken, String), AppError> {
    let (id, given_tag) = signed_state.split_once('.').ok_or_else(invalid_state)?;
    let given_tag = URL_SAFE_NO_PAD
        .decode(given_tag)
        .map_err(|_| invalid_state())?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(state.settings.auth.jwt_secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
    mac.update(b"wxcampaign-oauth-state|");
    mac.update(id.as_bytes());
    mac.verify_truncated_left(&given_tag)
        .map_err(|_| invalid_state())?;
    if given_tag.len() != TAG_BYTES {
        return Err(invalid_state());
    }
    let pending = state
        .store
        .take_credential(&format!("oauth_state:{id}"))
        .await?
        .ok_or_else(invalid_state)?;
    let pending: PendingLogin = serde_json::from_str(&pending).map_err(AppError::unexpected)?;

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
    )
    .await?;
    let token = state.jwt.issue_customer(user.id)?;
    Ok((token, pending.next))
}

fn code_error(error: WeChatError) -> AppError {
    match error.errcode() {
        Some(40029 | 40163) => AppError::bad_request(
            "invalid_code",
            "the code is invalid, expired or already used",
        ),
        _ => error.into(),
    }
}
