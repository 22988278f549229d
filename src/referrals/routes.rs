use actix_web::{web, HttpResponse};

use super::service;
use crate::auth::Customer;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/referrals", web::get().to(show_my_referrals))
        .route("/me/referrals/qr", web::get().to(show_my_invite_qr));
}

/// The caller's invite code, share path, friends credited and the open activity's milestone.
#[utoipa::path(
    get,
    path = "/api/v1/me/referrals",
    tag = "referrals",
    responses(
        (status = 200, description = "the caller's referrals", body = crate::referrals::service::ReferralProgress),
    ),
    security(("customer" = []))
)]
async fn show_my_referrals(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(service::progress(state.context(), customer.user_id).await?))
}

/// The caller's official-account QR code: a first follow through it credits the caller. Made once and kept
/// until close to its expiry (30 days).
#[utoipa::path(
    get,
    path = "/api/v1/me/referrals/qr",
    tag = "referrals",
    responses(
        (status = 200, description = "what the QR code encodes, and until when", body = crate::referrals::service::InviteQr),
        (status = 409, description = "concurrent_request", body = ErrorBody),
        (status = 503, description = "service_unavailable", body = ErrorBody),
        (status = 502, description = "wechat_unavailable, wechat_error, wechat_bad_response", body = ErrorBody),
        (status = 504, description = "wechat_timeout", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn show_my_invite_qr(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, AppError> {
    let qr = service::invite_qr(state.context(), &state.wechat, customer.user_id).await?;
    Ok(HttpResponse::Ok().json(qr))
}
