use actix_web::{web, HttpResponse};
use serde_json::json;

use super::service::{self, TemplateInput};
use crate::auth::{Customer, Role, Staff};
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::http::ValidJson;
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/coupons", web::get().to(list_my_coupons));
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/coupon-templates", web::post().to(create_template))
        .route("/coupons/{code}/use", web::post().to(use_coupon));
}

#[utoipa::path(
    get,
    path = "/api/v1/me/coupons",
    tag = "coupons",
    responses(
        (status = 200, description = "`{\"coupons\": [HeldCoupon]}`", body = Object),
    ),
    security(("customer" = []))
)]
async fn list_my_coupons(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, AppError> {
    let coupons = service::held_by(&state.db, customer.user_id, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(json!({ "coupons": coupons })))
}

#[utoipa::path(
    post,
    path = "/admin/v1/coupon-templates",
    tag = "coupons",
    request_body = TemplateInput,
    responses(
        (status = 201, description = "the template", body = Object),
        (status = 400, description = "invalid_coupon", body = ErrorBody),
        (status = 409, description = "slug_taken", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn create_template(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<TemplateInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Created()
        .json(service::create_template(&state.db, &staff.actor(), &body, state.clock.now()).await?))
}

/// For the branch counter system: marks a customer's coupon used.
#[utoipa::path(
    post,
    path = "/admin/v1/coupons/{code}/use",
    tag = "coupons",
    params(("code" = String, Path, description = "the coupon code")),
    responses(
        (status = 200, description = "marked used", body = Object),
        (status = 404, description = "coupon_not_found", body = ErrorBody),
        (status = 409, description = "coupon_not_usable", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn use_coupon(
    state: web::Data<AppState>,
    staff: Staff,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Ok()
        .json(service::mark_used(&state.db, &staff.actor(), &code, state.clock.now()).await?))
}
