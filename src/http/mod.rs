//! The HTTP shell shared by every domain: request ids, metrics, client addresses, JSON bodies with field-level
//! errors, health and readiness. Below `auth` (which keys rate limits by caller).

mod client_ip;
pub mod h5;
pub mod health;
mod json;
pub mod metrics;
mod request_id;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

pub use client_ip::{client_ip, resolve_client_ip};
pub use json::{read_body, ValidJson};
pub use metrics::{observe, Metrics};
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

/// What startup registered as `web::Data<T>`, for extractors and middleware (handlers take `web::Data<T>`).
pub fn registered<T: 'static>(req: &actix_web::HttpRequest) -> Result<web::Data<T>, AppError> {
    req.app_data::<web::Data<T>>().cloned().ok_or_else(|| {
        AppError::unexpected(anyhow::anyhow!(
            "{} is not registered",
            std::any::type_name::<T>()
        ))
    })
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
