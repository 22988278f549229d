//! The HTTP shell shared by every domain: request ids, metrics, client addresses, customer rate limits, JSON
//! bodies with field-level errors, health and readiness.

mod client_ip;
mod health;
mod json;
mod metrics;
mod rate_limit;
mod request_id;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

pub use client_ip::{client_ip, resolve_client_ip};
pub use json::{read_body, ValidJson};
pub use metrics::{observe, Metrics};
pub use rate_limit::{address_of, enforce, limit_customers, limit_h5, limit_staff, spend};
pub use request_id::RequestId;

use crate::error::{AppError, ErrorCode};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::render));
}

/// Query-string and path errors in the house format rather than actix's plain text.
pub fn extractor_configs(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(|error, _| {
        AppError::new(ErrorCode::InvalidQuery, error.to_string()).into()
    }))
    .app_data(
        web::PathConfig::default().error_handler(|error, _| {
            AppError::new(ErrorCode::InvalidPath, error.to_string()).into()
        }),
    );
}

/// `Cache-Control: no-store`, for every response that carries a token or a session cookie.
pub fn no_store() -> (header::HeaderName, header::HeaderValue) {
    (
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    )
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorCode::NotFound, "no such route"))
}
