use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::bank::{self, Format};
use crate::auth::{Role, Staff};
use crate::error::AppError;
use crate::http::{read_body, ValidJson};
use crate::state::AppState;

/// Question files may be large; far larger than ordinary JSON bodies.
const IMPORT_LIMIT: usize = 4 * 1024 * 1024;

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/quiz/banks", web::post().to(create_bank))
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
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send text/csv or application/json",
            ))
        }
    };
    let body = read_body(&req, payload.into_inner(), IMPORT_LIMIT).await?;
    let imported =
        bank::import(&state.db, &staff.actor(), &slug, format, &body, &|_, _| {}).await?;
    Ok(HttpResponse::Ok().json(json!({ "imported": imported })))
}
