use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::service;
use crate::auth::{Customer, Role, Staff};
use crate::error::AppError;
use crate::http::ValidJson;
use crate::idempotency::IdempotencyKey;
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/points", web::get().to(get_points));
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/points/adjustments", web::post().to(adjust_points));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    before_id: Option<i64>,
    limit: Option<u64>,
}

async fn get_points(
    state: web::Data<AppState>,
    customer: Customer,
    page: web::Query<Page>,
) -> Result<HttpResponse, AppError> {
    let statement = service::statement(
        &state.db,
        customer.user_id,
        page.before_id,
        page.limit.unwrap_or(20),
    )
    .await?;
    Ok(HttpResponse::Ok().json(statement))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Adjustment {
    user_id: i64,
    delta: i64,
}

/// Grants (or takes back) points by hand; the Idempotency-Key makes a repeated click adjust once.
async fn adjust_points(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<Adjustment>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let key = IdempotencyKey::from_request(&req)?;
    let entry = service::adjust(
        &state.db,
        &staff.actor(),
        body.user_id,
        body.delta,
        key.as_str(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(entry))
}
