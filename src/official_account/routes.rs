use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::auto_reply::{self, RuleInput};
use super::callback::{self, CallbackError, CallbackQuery, OfficialAccount};
use super::jssdk;
use super::oauth::{self, Scope};
use crate::auth::{address_of, spend, JwtKeys, Role, Staff};
use crate::error::AppError;
use crate::http::{no_store, read_body, ValidJson};
use crate::state::AppState;
use actix_web::http::header;
use serde::Deserialize;

/// Mounted at `/wechat`.
pub fn configure_callback(cfg: &mut web::ServiceConfig) {
    cfg.route("/callback", web::get().to(verify_callback_url))
        .route("/callback", web::post().to(receive_callback));
}

/// Mounted at `/h5`.
pub fn configure_h5(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/start", web::get().to(start_h5_login))
        .route("/auth/callback", web::get().to(finish_h5_login));
}

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/jssdk/config", web::get().to(get_jssdk_config));
}

/// Mounted at `/admin/v1`.
pub fn configure_admin(cfg: &mut web::ServiceConfig) {
    cfg.route("/wechat/replies", web::get().to(list_reply_rules))
        .route("/wechat/replies", web::post().to(create_reply_rule))
        .route("/wechat/replies/{id}", web::put().to(replace_reply_rule))
        .route("/wechat/replies/{id}", web::delete().to(delete_reply_rule));
}

async fn verify_callback_url(
    req: HttpRequest,
    state: web::Data<AppState>,
    account: web::Data<OfficialAccount>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, AppError> {
    let now = chrono::Utc::now().timestamp();
    let echostr = callback::verify_query(&account, &query, now)
        .and_then(|signed| callback::verify_url(&signed));
    match echostr {
        Ok(echostr) => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(echostr)),
        Err(error) => Err(refused(&state, &req, error).await),
    }
}

/// The query signature is checked before the body is read: junk is refused at the cost of one SHA-1.
async fn receive_callback(
    state: web::Data<AppState>,
    account: web::Data<OfficialAccount>,
    query: web::Query<CallbackQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let now = chrono::Utc::now().timestamp();
    let signed = match callback::verify_query(&account, &query, now) {
        Ok(signed) => signed,
        Err(error) => return Err(refused(&state, &req, error).await),
    };
    let body = read_body(&req, payload.into_inner(), account.body_limit).await?;
    match callback::handle_message(&state, &account, &signed, &body).await {
        Ok(reply) => Ok(HttpResponse::Ok()
            .content_type(reply.content_type)
            .body(reply.body)),
        Err(error) => Err(refused(&state, &req, error).await),
    }
}

/// A refused callback spends its address's refusal budget; past it the answer is 429 `rate_limited` instead of
/// the refusal, with no warning logged, so a flood of junk neither costs more than a signature check nor fills
/// the log. WeChat's own messages are signed and never spend it.
async fn refused(state: &AppState, req: &HttpRequest, error: CallbackError) -> AppError {
    if error.is_refusal() {
        let rule = state.settings.rate_limit.callback_refusals_per_ip;
        if let Some(limited) = spend(state, "callback_refused", &address_of(req, state), rule).await
        {
            return limited;
        }
    }
    error.into()
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

#[derive(Deserialize)]
struct StartLogin {
    next: String,
    scope: Option<Scope>,
}

async fn start_h5_login(
    state: web::Data<AppState>,
    query: web::Query<StartLogin>,
) -> Result<HttpResponse, AppError> {
    let started = oauth::start(
        &state,
        &query.next,
        query.scope.unwrap_or(Scope::Base),
        state.clock.now(),
    )?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, started.location))
        .insert_header(no_store())
        .cookie(started.cookie)
        .finish())
}

#[derive(Deserialize)]
struct FinishLogin {
    code: String,
    state: String,
}

async fn finish_h5_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    jwt: web::Data<JwtKeys>,
    query: web::Query<FinishLogin>,
) -> Result<HttpResponse, AppError> {
    let login_cookie = req.cookie(oauth::LOGIN_COOKIE);
    let (token, next) = oauth::finish(
        &state,
        &jwt,
        &query.code,
        &query.state,
        login_cookie.as_ref().map(|c| c.value()),
    )
    .await?;
    let session = oauth::session_cookie(&state, &token);
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, next))
        .insert_header(no_store())
        .cookie(session)
        .cookie(oauth::spent_login_cookie(&state))
        .finish())
}

#[derive(Deserialize)]
struct JsSdkQuery {
    url: String,
}

async fn get_jssdk_config(
    state: web::Data<AppState>,
    query: web::Query<JsSdkQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(jssdk::config(&state, &query.url).await?))
}
