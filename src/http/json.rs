use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

/// A JSON body, read up to `application.json_body_limit` bytes. Errors are in the house format and name the
/// offending field: 415 without a JSON content type, 413 over the limit, 400 for malformed JSON or a bad field.
pub struct ValidJson<T>(pub T);

impl<T> ValidJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for ValidJson<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn too_large(limit: usize) -> AppError {
    AppError::new(
        ErrorCode::PayloadTooLarge,
        format!("request body is larger than {limit} bytes"),
    )
}

/// Reads a whole body of at most `limit` bytes; 413 `payload_too_large` beyond it, refused early when the
/// declared length already says so.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: Payload,
    limit: usize,
) -> Result<web::BytesMut, AppError> {
    let declared_length = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::new(ErrorCode::InvalidBody, e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|state| state.settings.application.json_body_limit)
            .unwrap_or(64 * 1024);
        let content_type = json_content_type(req);
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            content_type?;
            let body = read_body(&req, payload, limit).await?;
            parse(&body).map(ValidJson)
        })
    }
}

/// `application/json` (or `+json`), in UTF-8: a body declared in another charset would be misread, so it is
/// refused rather than guessed at.
fn json_content_type(req: &HttpRequest) -> Result<(), AppError> {
    let unsupported = |message: &str| Err(AppError::new(ErrorCode::UnsupportedMediaType, message));
    let Some(mime) = req.mime_type().ok().flatten() else {
        return unsupported("expected Content-Type: application/json");
    };
    if !(mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json")) {
        return unsupported("expected Content-Type: application/json");
    }
    match mime.get_param(actix_web::mime::CHARSET) {
        Some(charset)
            if !["utf-8", "utf8"]
                .iter()
                .any(|utf8| charset.as_str().eq_ignore_ascii_case(utf8)) =>
        {
            unsupported("JSON bodies must be UTF-8")
        }
        _ => Ok(()),
    }
}

/// Deserializes with the path of the field that failed, e.g. `items[2].count`.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return AppError::new(ErrorCode::MalformedJson, format!("malformed JSON: {inner}"));
        }
        let field = field_name(&path, &inner.to_string());
        let message = match &field {
            Some(field) => format!("{field}: {inner}"),
            None => inner.to_string(),
        };
        let error = AppError::new(ErrorCode::InvalidField, message);
        match field {
            Some(field) => error.with_field(field),
            None => error,
        }
    })
}

/// serde reports a missing field at its parent's path with the name only in the message; join the two. (An
/// unknown field is already the last segment of its path.)
fn field_name(path: &str, message: &str) -> Option<String> {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match (path, named) {
        (".", Some(name)) => Some(name.to_owned()),
        (".", None) => None,
        (path, Some(name)) if path.rsplit('.').next() == Some(name) => Some(path.to_owned()),
        (parent, Some(name)) => Some(format!("{parent}.{name}")),
        (path, None) => Some(path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: u32,
    }

    #[test]
    fn errors_name_the_field() {
        let missing = parse::<Sample>(br#"{"name":"a"}"#).unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("count"));
        let wrong_type = parse::<Sample>(br#"{"name":"a","count":"x"}"#).unwrap_err();
        assert_eq!(wrong_type.field.as_deref(), Some("count"));
        let unknown = parse::<Sample>(br#"{"name":"a","count":1,"extra":true}"#).unwrap_err();
        assert_eq!(unknown.field.as_deref(), Some("extra"));
        let malformed = parse::<Sample>(br#"{"name":"#).unwrap_err();
        assert_eq!(malformed.code, "malformed_json");
    }
}
