use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::bank::{self, Format};
use super::service::{self, AnswerInput};
use crate::auth::{Customer, Role, Staff};
use crate::error::ErrorBody;
use crate::error::{AppError, ErrorCode};
use crate::http::{read_body, ValidJson};
use crate::state::AppState;

/// Question files may be large; far larger than ordinary JSON bodies.
const IMPORT_LIMIT: usize = 4 * 1024 * 1024;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/campaigns/{slug}/quiz/levels/{level}/attempts",
        web::post().to(start_attempt),
    )
    .route(
        "/campaigns/{slug}/quiz/attempts/{id}",
        web::get().to(show_attempt),
    )
    .route(
        "/campaigns/{slug}/quiz/attempts/{id}/answers",
        web::post().to(answer),
    )
    .route("/campaigns/{slug}/quiz/progress", web::get().to(progress))
    .route(
        "/campaigns/{slug}/quiz/leaderboard",
        web::get().to(leaderboard),
    );
}

/// Starts an attempt (or returns the one in play: 200 instead of 201).
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/quiz/levels/{level}/attempts",
    tag = "quiz",
    params(("slug" = String, Path, description = "the campaign"), ("level" = u32, Path, description = "1-based")),
    responses(
        (status = 201, description = "started (200: the attempt already in play)", body = crate::quiz::service::AttemptView),
        (status = 403, description = "campaign_not_live, activity_not_live, campaign_paused, level_locked", body = ErrorBody),
        (status = 404, description = "quiz_not_found, level_not_found", body = ErrorBody),
        (status = 409, description = "daily_limit_reached", body = ErrorBody),
        (status = 503, description = "quiz_unavailable", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn start_attempt(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (campaign, level) = path.into_inner();
    let level: u32 = level
        .parse()
        .map_err(|_| AppError::new(ErrorCode::LevelNotFound, "no such level"))?;
    let view = service::start(
        state.context(),
        &state.settings.quiz,
        customer.user_id,
        &campaign,
        level,
    )
    .await?;
    Ok(if view.resumed {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Created().json(view)
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{slug}/quiz/attempts/{id}",
    tag = "quiz",
    params(("slug" = String, Path, description = "the campaign"), ("id" = String, Path, description = "the attempt")),
    responses(
        (status = 200, description = "the attempt as it stands", body = crate::quiz::service::AttemptView),
        (status = 404, description = "quiz_not_found, attempt_not_found", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn show_attempt(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (campaign, id) = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(service::attempt(state.context(), customer.user_id, &campaign, &id).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/quiz/attempts/{id}/answers",
    tag = "quiz",
    params(("slug" = String, Path, description = "the campaign"), ("id" = String, Path, description = "the attempt")),
    request_body = AnswerInput,
    responses(
        (status = 200, description = "judged, with the explanation (and the result after the last)", body = crate::quiz::service::AnswerView),
        (status = 400, description = "invalid_option", body = ErrorBody),
        (status = 403, description = "campaign_paused", body = ErrorBody),
        (status = 404, description = "attempt_not_found", body = ErrorBody),
        (status = 409, description = "attempt_expired, attempt_finished, already_answered, not_current_question", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn answer(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
    body: ValidJson<AnswerInput>,
) -> Result<HttpResponse, AppError> {
    let (campaign, id) = path.into_inner();
    let view = service::answer(state.context(), customer.user_id, &campaign, &id, &body).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{slug}/quiz/progress",
    tag = "quiz",
    params(("slug" = String, Path, description = "the campaign")),
    responses(
        (status = 200, description = "each level: lock state and attempts left", body = crate::quiz::service::Progress),
        (status = 404, description = "quiz_not_found", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn progress(
    state: web::Data<AppState>,
    customer: Customer,
    campaign: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(service::progress(&state.db, state.now(), customer.user_id, &campaign).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct BoardQuery {
    top: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{slug}/quiz/leaderboard",
    tag = "quiz",
    params(("slug" = String, Path, description = "the campaign"), BoardQuery),
    responses(
        (status = 200, description = "the top entries and the caller's rank", body = Object),
        (status = 404, description = "quiz_not_found", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn leaderboard(
    state: web::Data<AppState>,
    customer: Customer,
    campaign: web::Path<String>,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, AppError> {
    let top = query.top.unwrap_or(20);
    let board =
        service::leaderboard(&state.db, state.store(), customer.user_id, &campaign, top).await?;
    Ok(HttpResponse::Ok().json(board))
}

/// Rebuilds the campaign's leaderboard from the database (after a store failure; reads also do it by themselves).
#[utoipa::path(
    post,
    path = "/admin/v1/campaigns/{slug}/quiz/leaderboard/rebuild",
    tag = "quiz",
    params(("slug" = String, Path, description = "the campaign")),
    responses(
        (status = 200, description = "`{\"entries\": n}` (audited)", body = Object),
        (status = 404, description = "quiz_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn rebuild_leaderboard(
    state: web::Data<AppState>,
    staff: Staff,
    campaign: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let entries =
        service::rebuild_board(&state.db, state.store(), &staff.actor(), &campaign).await?;
    Ok(HttpResponse::Ok().json(json!({ "entries": entries })))
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/campaigns/{slug}/quiz/leaderboard/rebuild",
        web::post().to(rebuild_leaderboard),
    )
    .route("/quiz/banks", web::post().to(create_bank))
    .route("/quiz/banks/{slug}", web::get().to(show_bank))
    .route(
        "/quiz/banks/{slug}/import",
        web::post().to(import_questions),
    );
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewBank {
    slug: String,
    name: String,
}

#[utoipa::path(
    post,
    path = "/admin/v1/quiz/banks",
    tag = "quiz",
    request_body = NewBank,
    responses(
        (status = 201, description = "the bank", body = Object),
        (status = 400, description = "invalid_bank", body = ErrorBody),
        (status = 409, description = "slug_taken", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn create_bank(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<NewBank>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Created()
        .json(bank::create_bank(&state.db, &staff.actor(), &body.slug, &body.name).await?))
}

#[utoipa::path(
    get,
    path = "/admin/v1/quiz/banks/{slug}",
    tag = "quiz",
    params(("slug" = String, Path, description = "the bank")),
    responses(
        (status = 200, description = "the bank and its question counts", body = crate::quiz::bank::BankSummary),
        (status = 404, description = "bank_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn show_bank(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Operator, Role::Auditor])?;
    Ok(HttpResponse::Ok().json(bank::summary(&state.db, &slug).await?))
}

/// A CSV (`text/csv`) or JSON (`application/json`) file of questions: all imported, or none.
#[utoipa::path(
    post,
    path = "/admin/v1/quiz/banks/{slug}/import",
    tag = "quiz",
    params(("slug" = String, Path, description = "the bank")),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "`{\"imported\": n}`: all or none", body = Object),
        (status = 400, description = "invalid_questions", body = ErrorBody),
        (status = 404, description = "bank_not_found", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn import_questions(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let format = match req
        .mime_type()
        .ok()
        .flatten()
        .map(|m| m.essence_str().to_owned())
        .as_deref()
    {
        Some("text/csv") => Format::Csv,
        Some("application/json") => Format::Json,
        _ => {
            return Err(AppError::new(
                ErrorCode::UnsupportedMediaType,
                "send text/csv or application/json",
            ))
        }
    };
    let body = read_body(&req, payload.into_inner(), IMPORT_LIMIT).await?;
    let imported =
        bank::import(&state.db, &staff.actor(), &slug, format, &body, &|_, _| {}).await?;
    Ok(HttpResponse::Ok().json(json!({ "imported": imported })))
}
