//! JS-SDK configuration for H5 pages: `signature = sha1("jsapi_ticket=..&noncestr=..&timestamp=..&url=..")` over
//! the page URL without its `#` part, only for pages on the configured domains.

use rand::distr::{Alphanumeric, SampleString};
use serde::Serialize;
use sha1::{Digest, Sha1};

use crate::error::{AppError, ErrorCode};
use crate::state::AppState;
use crate::wechat::client::App;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsSdkConfig {
    pub app_id: String,
    pub timestamp: i64,
    pub nonce_str: String,
    pub signature: String,
}

pub fn signature(ticket: &str, nonce: &str, timestamp: i64, url: &str) -> String {
    let plain = format!("jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}");
    hex::encode(Sha1::digest(plain.as_bytes()))
}

/// The page URL as WeChat signs it (no fragment), if its host is allowed.
fn page_url(state: &AppState, raw: &str) -> Result<String, AppError> {
    let invalid = || {
        AppError::new(
            ErrorCode::InvalidUrl,
            "url must be an http(s) page on an allowed domain",
        )
        .with_field("url")
    };
    let parsed = url::Url::parse(raw).map_err(|_| invalid())?;
    let host = parsed.host_str().ok_or_else(invalid)?;
    let allowed = state
        .settings
        .wechat
        .jssdk_domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(host));
    if !matches!(parsed.scheme(), "http" | "https") || !allowed {
        return Err(invalid());
    }
    Ok(raw.split('#').next().unwrap_or(raw).to_owned())
}

pub async fn config(state: &AppState, url: &str) -> Result<JsSdkConfig, AppError> {
    let url = page_url(state, url)?;
    let ticket = state.wechat.jsapi_ticket().await?;
    let nonce_str = Alphanumeric.sample_string(&mut rand::rng(), 16);
    let timestamp = chrono::Utc::now().timestamp();
    Ok(JsSdkConfig {
        app_id: state.wechat.app_id(App::OfficialAccount).to_owned(),
        timestamp,
        signature: signature(&ticket, &nonce_str, timestamp, &url),
        nonce_str,
    })
}
