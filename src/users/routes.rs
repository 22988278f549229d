use actix_web::{web, HttpResponse};

use super::service;
use crate::auth::Customer;
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(get_profile));
}

async fn get_profile(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, AppError> {
    let profile = service::profile(&state.db, customer.user_id).await?;
    Ok(HttpResponse::Ok().json(profile))
}
