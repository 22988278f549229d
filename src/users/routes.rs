use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::service;
use crate::auth::{login, Customer, Role, Staff};
use crate::error::{AppError, ErrorCode};
use crate::http::ValidJson;
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(get_profile))
        .route("/me/phone", web::post().to(bind_phone));
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/{id}/disabled", web::put().to(set_user_disabled));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisabledRequest {
    disabled: bool,
    /// Why, for the audit log (a case number, "customer request" ...).
    reason: String,
}

/// Blocks or unblocks a customer account (operators; audited with the reason).
async fn set_user_disabled(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<i64>,
    body: ValidJson<DisabledRequest>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let reason = body.reason.trim();
    if !(1..=200).contains(&reason.chars().count()) {
        return Err(
            AppError::new(ErrorCode::InvalidInput, "reason: 1-200 characters").with_field("reason"),
        );
    }
    let status = service::set_disabled(
        &state.db,
        &staff.actor(),
        id.into_inner(),
        body.disabled,
        reason,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(status))
}

async fn get_profile(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, AppError> {
    let profile = service::profile(&state.db, customer.user_id).await?;
    Ok(HttpResponse::Ok().json(profile))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneRequest {
    code: String,
}

/// Binds the phone number behind a mini-program `getPhoneNumber` code; answers the profile with it masked.
async fn bind_phone(
    state: web::Data<AppState>,
    customer: Customer,
    body: ValidJson<PhoneRequest>,
) -> Result<HttpResponse, AppError> {
    let profile = login::bind_phone(&state, customer.user_id, &body.code).await?;
    Ok(HttpResponse::Ok().json(profile))
}
