use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::bank::{self, Format};
use super::service::{self, AnswerInput};
use crate::auth::{Customer, Role, Staff};
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

async fn show_attempt(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (campaign, id) = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(service::attempt(state.context(), customer.user_id, &campaign, &id).await?))
}

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

async fn progress(
    state: web::Data<AppState>,
    customer: Customer,
    campaign: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(service::progress(&state.db, state.now(), customer.user_id, &campaign).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BoardQuery {
    top: Option<u32>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBank {
    slug: String,
    name: String,
}

async fn create_bank(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<NewBank>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Created()
        .json(bank::create_bank(&state.db, &staff.actor(), &body.slug, &body.name).await?))
}

async fn show_bank(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Operator, Role::Auditor])?;
    Ok(HttpResponse::Ok().json(bank::summary(&state.db, &slug).await?))
}

/// A CSV (`text/csv`) or JSON (`application/json`) file of questions: all imported, or none.
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
