use actix_web::{web, HttpResponse};

use super::import::CampaignInput;
use super::service;
use crate::auth::{Role, Staff};
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::http::ValidJson;
use crate::state::AppState;

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/campaigns", web::post().to(create_campaign))
        .route("/campaigns/{slug}", web::put().to(replace_campaign))
        .route(
            "/campaigns/{slug}/schedule",
            web::post().to(schedule_campaign),
        );
}

#[utoipa::path(
    post,
    path = "/admin/v1/campaigns",
    tag = "campaigns",
    request_body = CampaignInput,
    responses(
        (status = 201, description = "created as a draft", body = crate::campaigns::service::CampaignView),
        (status = 400, description = "invalid_campaign", body = ErrorBody),
        (status = 409, description = "slug_taken, window_overlap", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn create_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<CampaignInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Created().json(service::create(&state.db, &staff.actor(), &body).await?))
}

#[utoipa::path(
    put,
    path = "/admin/v1/campaigns/{slug}",
    tag = "campaigns",
    params(("slug" = String, Path, description = "the campaign")),
    request_body = CampaignInput,
    responses(
        (status = 200, description = "replaced", body = crate::campaigns::service::CampaignView),
        (status = 400, description = "invalid_campaign", body = ErrorBody),
        (status = 404, description = "campaign_not_found", body = ErrorBody),
        (status = 409, description = "campaign_live, window_overlap", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn replace_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<CampaignInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Ok().json(service::replace(&state.db, &staff.actor(), &slug, &body).await?))
}

#[utoipa::path(
    post,
    path = "/admin/v1/campaigns/{slug}/schedule",
    tag = "campaigns",
    params(("slug" = String, Path, description = "the campaign")),
    responses(
        (status = 200, description = "scheduled: it goes live by the clock", body = crate::campaigns::service::CampaignView),
        (status = 404, description = "campaign_not_found", body = ErrorBody),
        (status = 409, description = "invalid_transition", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn schedule_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Ok()
        .json(service::schedule(&state.db, &staff.actor(), &slug, state.clock.now()).await?))
}
