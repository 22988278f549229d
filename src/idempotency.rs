//! `Idempotency-Key` for actions that grant something: the same key (from the same caller, with the same body)
//! returns the same result and runs the action once, however many copies arrive and however concurrently.
//!
//! The store claim stops concurrent copies; the action must still write its durable record under a unique
//! request id derived from the key, because a claim can lapse (its holder died) and the database is the last
//! word on what was granted.

use std::future::Future;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{AppError, ErrorCode};
use crate::store::{IdempotencyBegin, StateStore};

pub const HEADER: &str = "idempotency-key";

/// How long a claim lives without a response (longer than any request may take).
const CLAIM_TTL: Duration = Duration::from_secs(60);
/// How long a finished response is kept for replays.
const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// How long a concurrent copy waits for the first to finish before it is told 409.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(5);
const POLL_EVERY: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The header's value: required, 8-64 characters of letters, digits, `-` and `_` (a UUID fits).
    pub fn from_request(req: &HttpRequest) -> Result<Self, AppError> {
        let value = req
            .headers()
            .get(HEADER)
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::IdempotencyKeyMissing,
                    "this action needs an Idempotency-Key header",
                )
            })?
            .to_str()
            .unwrap_or_default();
        Self::parse(value)
    }

    pub fn parse(value: &str) -> Result<Self, AppError> {
        let ok = (8..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(AppError::new(
                ErrorCode::IdempotencyKeyInvalid,
                "Idempotency-Key: 8-64 characters of letters, digits, '-' or '_'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 422 for a key already used with another request. Services answer it too when their durable record of the
/// key (a unique source reference) names another request, since the store's fingerprint can be forgotten.
pub fn key_reused() -> AppError {
    AppError::new(ErrorCode::IdempotencyKeyReused, KEY_REUSED)
}

pub const KEY_REUSED: &str = "this Idempotency-Key was used for a different request";

/// A finished action's answer, as kept for replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub body: serde_json::Value,
}

impl StoredResponse {
    pub fn ok(body: impl Serialize) -> Result<Self, AppError> {
        Self::with_status(StatusCode::OK, body)
    }

    pub fn with_status(status: StatusCode, body: impl Serialize) -> Result<Self, AppError> {
        Ok(Self {
            status: status.as_u16(),
            body: serde_json::to_value(body).map_err(AppError::unexpected)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub response: StoredResponse,
    /// True when this is a copy of an earlier answer.
    pub replayed: bool,
}

impl Outcome {
    pub fn into_http(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.response.status).unwrap_or(StatusCode::OK);
        let mut response = HttpResponse::build(status);
        if self.replayed {
            response.insert_header(("idempotent-replayed", "true"));
        }
        response.json(self.response.body)
    }
}

/// Hash of what makes two requests "the same": the caller, the action and the body.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// Runs `action` once for `scope` + `key`, keeping its answer for a day. Errors are not kept: an action that
/// failed changed nothing, so the same key may be tried again.
pub async fn run_once<F, Fut>(
    store: &dyn StateStore,
    scope: &str,
    key: &IdempotencyKey,
    fingerprint: &str,
    action: F,
) -> Result<Outcome, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<StoredResponse, AppError>>,
{
    run_once_keeping(store, scope, key, fingerprint, RETENTION, action).await
}

/// `run_once`, keeping the answer for `retention` (short for high-volume keys such as WeChat's retries).
pub async fn run_once_keeping<F, Fut>(
    store: &dyn StateStore,
    scope: &str,
    key: &IdempotencyKey,
    fingerprint: &str,
    retention: Duration,
    action: F,
) -> Result<Outcome, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<StoredResponse, AppError>>,
{
    let store_key = format!("{scope}:{}", key.as_str());
    let deadline = Instant::now() + WAIT_FOR_FIRST;
    loop {
        match store
            .idempotency_begin(&store_key, fingerprint, CLAIM_TTL)
            .await?
        {
            IdempotencyBegin::Started => break,
            IdempotencyBegin::Completed(bytes) => {
                let response = serde_json::from_slice(&bytes).map_err(AppError::unexpected)?;
                return Ok(Outcome {
                    response,
                    replayed: true,
                });
            }
            IdempotencyBegin::Mismatch => return Err(key_reused()),
            IdempotencyBegin::InProgress if Instant::now() >= deadline => {
                let mut error = AppError::new(
                    ErrorCode::IdempotencyInProgress,
                    "a request with this Idempotency-Key is still running",
                );
                error.retry_after_secs = Some(1);
                return Err(error);
            }
            IdempotencyBegin::InProgress => tokio::time::sleep(POLL_EVERY).await,
        }
    }
    match action().await {
        Ok(response) => {
            let bytes = serde_json::to_vec(&response).map_err(AppError::unexpected)?;
            if let Err(error) = store
                .idempotency_complete(&store_key, fingerprint, &bytes, retention)
                .await
            {
                // The action is done and durable; only replays lose their shortcut.
                tracing::error!(?error, "could not store an idempotent response");
            }
            Ok(Outcome {
                response,
                replayed: false,
            })
        }
        Err(error) => {
            if let Err(store_error) = store.idempotency_abandon(&store_key, fingerprint).await {
                tracing::error!(error = ?store_error, "could not release an idempotency claim");
            }
            Err(error)
        }
    }
}
