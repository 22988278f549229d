use actix_web::{web, HttpResponse};
use serde_json::json;

use super::service::{self, TemplateInput};
use crate::auth::{Customer, Role, Staff};
use crate::error::AppError;
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

async fn list_my_coupons(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, AppError> {
    let coupons = service::held_by(&state.db, customer.user_id, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(json!({ "coupons": coupons })))
}

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
async fn use_coupon(
    state: web::Data<AppState>,
    staff: Staff,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Ok()
        .json(service::mark_used(&state.db, &staff.actor(), &code, state.clock.now()).await?))
}
