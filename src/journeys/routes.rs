use actix_web::{web, HttpResponse};

use super::model::{JourneyInput, JourneyView};
use super::saved;
use crate::auth::{Role, Staff};
use crate::error::{AppError, ErrorBody};
use crate::http::ValidJson;
use crate::state::AppState;

/// Community managers write journeys; operators read them.
const READERS: [Role; 2] = [Role::CommunityManager, Role::Operator];

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/journeys", web::get().to(list_journeys))
        .route("/journeys", web::post().to(create_journey))
        .route("/journeys/{slug}", web::get().to(show_journey))
        .route("/journeys/{slug}/enable", web::post().to(enable_journey))
        .route("/journeys/{slug}/disable", web::post().to(disable_journey));
}

/// Every journey, with its messages' counts.
#[utoipa::path(
    get,
    path = "/admin/v1/journeys",
    tag = "journeys",
    responses((status = 200, description = "the journeys", body = [JourneyView])),
    security(("staff" = []))
)]
async fn list_journeys(state: web::Data<AppState>, staff: Staff) -> Result<HttpResponse, AppError> {
    staff.require_any(&READERS)?;
    Ok(HttpResponse::Ok().json(saved::list(&state.db).await?))
}

/// Saves a journey, off (community managers; audited): its message is checked like a push's, its trigger,
/// condition and delay like a segment's.
#[utoipa::path(
    post,
    path = "/admin/v1/journeys",
    tag = "journeys",
    request_body = JourneyInput,
    responses(
        (status = 201, description = "saved, off", body = JourneyView),
        (status = 400, description = "invalid_push, invalid_segment_rule", body = ErrorBody),
        (status = 404, description = "segment_not_found", body = ErrorBody),
        (status = 409, description = "slug_taken", body = ErrorBody),
        (status = 422, description = "template_marketing", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn create_journey(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<JourneyInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let view = saved::create(
        &state.db,
        &state.settings,
        &staff.actor(),
        &body,
        state.now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// One journey with its messages' counts.
#[utoipa::path(
    get,
    path = "/admin/v1/journeys/{slug}",
    tag = "journeys",
    params(("slug" = String, Path, description = "the journey")),
    responses(
        (status = 200, description = "the journey", body = JourneyView),
        (status = 404, description = "journey_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn show_journey(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&READERS)?;
    let journey = saved::find(&state.db, &slug).await?;
    Ok(HttpResponse::Ok().json(saved::view(&state.db, journey).await?))
}

/// Turns a journey on: from the next minute, its trigger fires.
#[utoipa::path(
    post,
    path = "/admin/v1/journeys/{slug}/enable",
    tag = "journeys",
    params(("slug" = String, Path, description = "the journey")),
    responses(
        (status = 200, description = "on", body = JourneyView),
        (status = 404, description = "journey_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn enable_journey(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let view = saved::set_enabled(&state.db, &staff.actor(), &slug, true, state.now()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Turns a journey off: what it has queued or held is skipped as `journey_off`.
#[utoipa::path(
    post,
    path = "/admin/v1/journeys/{slug}/disable",
    tag = "journeys",
    params(("slug" = String, Path, description = "the journey")),
    responses(
        (status = 200, description = "off", body = JourneyView),
        (status = 404, description = "journey_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn disable_journey(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let view = saved::set_enabled(&state.db, &staff.actor(), &slug, false, state.now()).await?;
    Ok(HttpResponse::Ok().json(view))
}
