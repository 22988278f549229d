use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::service;
use crate::auth::{Role, Staff};
use crate::error::AppError;
use crate::http::ValidJson;
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/calendar", web::get().to(get_calendar))
        .route("/campaigns/{slug}", web::get().to(get_campaign));
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/campaigns", web::get().to(list_campaigns))
        .route("/campaigns/{slug}", web::get().to(show_campaign))
        .route("/campaigns/{slug}/pause", web::post().to(pause_campaign))
        .route("/campaigns/{slug}/resume", web::post().to(resume_campaign));
}

async fn get_calendar(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let campaigns = service::calendar(&state.db, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(json!({ "timezone": "Asia/Shanghai", "campaigns": campaigns })))
}

async fn get_campaign(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(service::public_detail(&state.db, &slug, state.clock.now()).await?))
}

async fn list_campaigns(
    state: web::Data<AppState>,
    staff: Staff,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Operator, Role::Auditor])?;
    Ok(HttpResponse::Ok().json(json!({ "campaigns": service::list(&state.db).await? })))
}

async fn show_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Operator, Role::Auditor])?;
    Ok(HttpResponse::Ok().json(service::detail(&state.db, &slug).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

async fn pause_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<Reason>,
) -> Result<HttpResponse, AppError> {
    switch_campaign(&state, &staff, &slug, &body.reason, true).await
}

async fn resume_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<Reason>,
) -> Result<HttpResponse, AppError> {
    switch_campaign(&state, &staff, &slug, &body.reason, false).await
}

async fn switch_campaign(
    state: &AppState,
    staff: &Staff,
    slug: &str,
    reason: &str,
    paused: bool,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let view = service::set_paused(
        &state.db,
        state.store.as_ref(),
        &staff.actor(),
        slug,
        paused,
        reason,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
