//! WeChat's failures as we report them: opaque to clients, and never with a secret in them (our URLs carry
//! `secret=`, `access_token=` and login codes in their query strings).

use crate::error::{AppError, ErrorCode};
use crate::store::StoreError;

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
pub(super) fn transport(error: reqwest::Error) -> WeChatError {
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
