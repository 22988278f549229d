use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::auto_reply::{self, RuleInput};
use super::callback::{self, CallbackQuery};
use crate::auth::{Role, Staff};
use crate::error::AppError;
use crate::http::{read_body, ValidJson};
use crate::state::AppState;

/// Mounted at `/wechat`.
pub fn configure_callback(cfg: &mut web::ServiceConfig) {
    cfg.route("/callback", web::get().to(verify_callback_url))
        .route("/callback", web::post().to(receive_callback));
}

/// Mounted at `/admin/v1`.
pub fn configure_admin(cfg: &mut web::ServiceConfig) {
    cfg.route("/wechat/replies", web::get().to(list_reply_rules))
        .route("/wechat/replies", web::post().to(create_reply_rule))
        .route("/wechat/replies/{id}", web::put().to(replace_reply_rule))
        .route("/wechat/replies/{id}", web::delete().to(delete_reply_rule));
}

async fn verify_callback_url(
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, AppError> {
    let echostr = callback::verify_url(&state.official_account, &query)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(echostr))
}

async fn receive_callback(
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let body = read_body(
        &req,
        payload.into_inner(),
        state.official_account.body_limit,
    )
    .await?;
    let reply = callback::handle_message(&state, &query, &body).await?;
    Ok(HttpResponse::Ok()
        .content_type(reply.content_type)
        .body(reply.body))
}

async fn list_reply_rules(
    state: web::Data<AppState>,
    staff: Staff,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let rules = auto_reply::list_rules(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({ "rules": rules })))
}

async fn create_reply_rule(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<RuleInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let rule = auto_reply::create_rule(&state.db, &staff.actor(), &body).await?;
    Ok(HttpResponse::Created().json(rule))
}

async fn replace_reply_rule(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<i64>,
    body: ValidJson<RuleInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let rule = auto_reply::replace_rule(&state.db, &staff.actor(), id.into_inner(), &body).await?;
    Ok(HttpResponse::Ok().json(rule))
}

async fn delete_reply_rule(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    auto_reply::delete_rule(&state.db, &staff.actor(), id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
