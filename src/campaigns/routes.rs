use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::service;
use crate::auth::{Role, Staff};
use crate::error::AppError;
use crate::error::ErrorBody;
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

#[utoipa::path(
    get,
    path = "/api/v1/calendar",
    tag = "campaigns",
    responses(
        (status = 200, description = "`{\"timezone\", \"campaigns\": [PublicCampaign]}`: live and upcoming", body = Object),
    )
)]
async fn get_calendar(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let campaigns = service::calendar(&state.db, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(json!({ "timezone": "Asia/Shanghai", "campaigns": campaigns })))
}

#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{slug}",
    tag = "campaigns",
    params(("slug" = String, Path, description = "the campaign")),
    responses(
        (status = 200, description = "rules, activities, published odds", body = crate::campaigns::service::PublicCampaignDetail),
        (status = 404, description = "campaign_not_found", body = ErrorBody),
    )
)]
async fn get_campaign(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(service::public_detail(&state.db, &slug, state.clock.now()).await?))
}

#[utoipa::path(
    get,
    path = "/admin/v1/campaigns",
    tag = "campaigns",
    responses(
        (status = 200, description = "`{\"campaigns\": [CampaignView]}`", body = Object),
    ),
    security(("staff" = []))
)]
async fn list_campaigns(
    state: web::Data<AppState>,
    staff: Staff,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Operator, Role::Auditor])?;
    Ok(HttpResponse::Ok().json(json!({ "campaigns": service::list(&state.db).await? })))
}

#[utoipa::path(
    get,
    path = "/admin/v1/campaigns/{slug}",
    tag = "campaigns",
    params(("slug" = String, Path, description = "the campaign")),
    responses(
        (status = 200, description = "the campaign", body = crate::campaigns::service::CampaignView),
        (status = 404, description = "campaign_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn show_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Operator, Role::Auditor])?;
    Ok(HttpResponse::Ok().json(service::detail(&state.db, &slug).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

#[utoipa::path(
    post,
    path = "/admin/v1/campaigns/{slug}/pause",
    tag = "campaigns",
    params(("slug" = String, Path, description = "the campaign")),
    request_body = Reason,
    responses(
        (status = 200, description = "paused on every instance", body = crate::campaigns::service::CampaignView),
        (status = 404, description = "campaign_not_found", body = ErrorBody),
        (status = 400, description = "invalid_campaign", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn pause_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<Reason>,
) -> Result<HttpResponse, AppError> {
    switch_campaign(&state, &staff, &slug, &body.reason, true).await
}

#[utoipa::path(
    post,
    path = "/admin/v1/campaigns/{slug}/resume",
    tag = "campaigns",
    params(("slug" = String, Path, description = "the campaign")),
    request_body = Reason,
    responses(
        (status = 200, description = "resumed", body = crate::campaigns::service::CampaignView),
        (status = 404, description = "campaign_not_found", body = ErrorBody),
        (status = 400, description = "invalid_campaign", body = ErrorBody),
    ),
    security(("staff" = []))
)]
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
