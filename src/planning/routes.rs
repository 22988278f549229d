use actix_web::{web, HttpResponse};

use super::import::CampaignInput;
use super::service;
use crate::auth::{Role, Staff};
use crate::error::AppError;
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

async fn create_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<CampaignInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Created().json(service::create(&state.db, &staff.actor(), &body).await?))
}

async fn replace_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<CampaignInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Ok().json(service::replace(&state.db, &staff.actor(), &slug, &body).await?))
}

async fn schedule_campaign(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Ok()
        .json(service::schedule(&state.db, &staff.actor(), &slug, state.clock.now()).await?))
}
