use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::service;
use crate::auth::{login, Customer};
use crate::error::AppError;
use crate::http::ValidJson;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(get_profile))
        .route("/me/phone", web::post().to(bind_phone));
}

async fn get_profile(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, AppError> {
    let profile = service::profile(&state.db, customer.user_id).await?;
    Ok(HttpResponse::Ok().json(profile))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneRequest {
    code: String,
}

/// Binds the phone number behind a mini-program `getPhoneNumber` code; answers the profile with it masked.
async fn bind_phone(
    state: web::Data<AppState>,
    customer: Customer,
    body: ValidJson<PhoneRequest>,
) -> Result<HttpResponse, AppError> {
    let profile = login::bind_phone(&state, customer.user_id, &body.code).await?;
    Ok(HttpResponse::Ok().json(profile))
}
