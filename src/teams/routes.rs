use actix_web::{web, HttpRequest, HttpResponse};

use super::service;
use crate::auth::Customer;
use crate::error::{AppError, ErrorBody};
use crate::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/campaigns/{slug}/teams/{activity}",
        web::post().to(create_team),
    )
    .route(
        "/campaigns/{slug}/teams/{activity}/mine",
        web::get().to(show_my_team),
    )
    .route("/teams/{code}", web::get().to(show_team))
    .route("/teams/{code}/members", web::post().to(join_team));
}

/// Makes a team of a team activity, led by the caller (200 with the open team they already lead).
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/teams/{activity}",
    tag = "teams",
    params(("slug" = String, Path, description = "the campaign"), ("activity" = String, Path, description = "the team activity")),
    responses(
        (status = 201, description = "made: share its code", body = crate::teams::service::TeamView),
        (status = 200, description = "the open team the caller already leads", body = crate::teams::service::TeamView),
        (status = 404, description = "campaign_not_found, activity_not_found", body = ErrorBody),
        (status = 409, description = "campaign_not_live, activity_not_live, campaign_paused, already_in_team", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn create_team(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (campaign, activity) = path.into_inner();
    let team =
        service::create_team(state.context(), customer.user_id, &campaign, &activity).await?;
    Ok(if team.resumed {
        HttpResponse::Ok().json(team)
    } else {
        HttpResponse::Created().json(team)
    })
}

/// The caller's team in this activity (open or complete), or 404 `team_not_found`.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{slug}/teams/{activity}/mine",
    tag = "teams",
    params(("slug" = String, Path, description = "the campaign"), ("activity" = String, Path, description = "the team activity")),
    responses(
        (status = 200, description = "the caller's team", body = crate::teams::service::TeamView),
        (status = 404, description = "campaign_not_found, activity_not_found, team_not_found", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn show_my_team(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (campaign, activity) = path.into_inner();
    let team = service::my_team(state.context(), customer.user_id, &campaign, &activity)
        .await?
        .ok_or(service::TeamError::NotFound)?;
    Ok(HttpResponse::Ok().json(team))
}

/// A team's landing page: its seats and state, with no member named. Anyone may look; a signed-in caller
/// also sees their own seat.
#[utoipa::path(
    get,
    path = "/api/v1/teams/{code}",
    tag = "teams",
    params(("code" = String, Path, description = "the team's share code")),
    responses(
        (status = 200, description = "the team", body = crate::teams::service::TeamView),
        (status = 404, description = "team_not_found", body = ErrorBody),
    )
)]
async fn show_team(
    state: web::Data<AppState>,
    customer: Option<Customer>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let caller = customer.map(|c| c.user_id);
    Ok(HttpResponse::Ok().json(service::team(state.context(), &path, caller).await?))
}

/// Takes a seat in the team with this share code. Takes an `Idempotency-Key`: a retry answers the same.
#[utoipa::path(
    post,
    path = "/api/v1/teams/{code}/members",
    tag = "teams",
    params(("code" = String, Path, description = "the team's share code")),
    responses(
        (status = 200, description = "seated (the team completes when its last seat is taken and everyone has played)", body = crate::teams::service::TeamView),
        (status = 400, description = "idempotency_key_missing, idempotency_key_invalid", body = ErrorBody),
        (status = 403, description = "not_new_customer", body = ErrorBody),
        (status = 404, description = "team_not_found", body = ErrorBody),
        (status = 409, description = "team_full, team_expired, own_team, already_in_team, campaign_paused, campaign_not_live, activity_not_live, idempotency_in_progress", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
        (status = 503, description = "store_rebuilding", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn join_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    let key = IdempotencyKey::from_request(&req)?;
    let fingerprint = idempotency::fingerprint(&[code.as_bytes()]);
    let scope = format!("team-join:{}", customer.user_id);
    let outcome = idempotency::run_once(state.store(), &scope, &key, &fingerprint, || async {
        let team = service::join_team(state.context(), customer.user_id, &code).await?;
        StoredResponse::ok(team)
    })
    .await?;
    Ok(outcome.into_http())
}
