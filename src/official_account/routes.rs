use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::auto_reply::{self, RuleInput};
use super::callback::{self, CallbackError, CallbackQuery, OfficialAccount};
use super::inbox::InboxWriter;
use super::jssdk;
use super::oauth::{self, Scope};
use crate::auth::{address_of, spend, JwtKeys, Role, Staff};
use crate::error::AppError;
use crate::error::ErrorBody;
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

#[utoipa::path(
    get,
    path = "/wechat/callback",
    tag = "wechat",
    params(CallbackQuery),
    responses(
        (status = 200, description = "the echostr, for WeChat's URL check", body = String),
        (status = 400, description = "invalid_signature, stale_timestamp", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    path = "/wechat/callback",
    tag = "wechat",
    params(CallbackQuery),
    request_body(content = String, content_type = "text/xml"),
    responses(
        (status = 200, description = "`success` or a passive reply (XML, encrypted in safe mode)", body = String),
        (status = 400, description = "invalid_signature, stale_timestamp, replayed_nonce, malformed_xml, invalid_message", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody),
    )
)]
async fn receive_callback(
    state: web::Data<AppState>,
    account: web::Data<OfficialAccount>,
    inbox: web::Data<InboxWriter>,
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
    match callback::handle_message(&state, &inbox, &account, &signed, &body).await {
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

#[utoipa::path(
    get,
    path = "/admin/v1/wechat/replies",
    tag = "wechat",
    responses(
        (status = 200, description = "`{\"rules\": [...]}`", body = Object),
    ),
    security(("staff" = []))
)]
async fn list_reply_rules(
    state: web::Data<AppState>,
    staff: Staff,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let rules = auto_reply::list_rules(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({ "rules": rules })))
}

#[utoipa::path(
    post,
    path = "/admin/v1/wechat/replies",
    tag = "wechat",
    request_body = RuleInput,
    responses(
        (status = 201, description = "the rule", body = Object),
        (status = 400, description = "invalid_rule", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn create_reply_rule(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<RuleInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let rule = auto_reply::create_rule(&state.db, &staff.actor(), &body).await?;
    Ok(HttpResponse::Created().json(rule))
}

#[utoipa::path(
    put,
    path = "/admin/v1/wechat/replies/{id}",
    tag = "wechat",
    params(("id" = i64, Path, description = "the rule")),
    request_body = RuleInput,
    responses(
        (status = 200, description = "the rule", body = Object),
        (status = 400, description = "invalid_rule", body = ErrorBody),
        (status = 404, description = "rule_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
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

#[utoipa::path(
    delete,
    path = "/admin/v1/wechat/replies/{id}",
    tag = "wechat",
    params(("id" = i64, Path, description = "the rule")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "rule_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn delete_reply_rule(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    auto_reply::delete_rule(&state.db, &staff.actor(), id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StartLogin {
    next: String,
    scope: Option<Scope>,
}

#[utoipa::path(
    get,
    path = "/h5/auth/start",
    tag = "h5",
    params(StartLogin),
    responses(
        (status = 302, description = "to WeChat's authorize page, with a signed state cookie"),
        (status = 400, description = "invalid_next", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FinishLogin {
    code: String,
    state: String,
}

#[utoipa::path(
    get,
    path = "/h5/auth/callback",
    tag = "h5",
    params(FinishLogin),
    responses(
        (status = 302, description = "to `next`, with the session cookie"),
        (status = 400, description = "invalid_state, invalid_code", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct JsSdkQuery {
    url: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/jssdk/config",
    tag = "wechat",
    params(JsSdkQuery),
    responses(
        (status = 200, description = "the JS-SDK signature for the page", body = crate::official_account::jssdk::JsSdkConfig),
        (status = 400, description = "invalid_url", body = ErrorBody),
    )
)]
async fn get_jssdk_config(
    state: web::Data<AppState>,
    query: web::Query<JsSdkQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(jssdk::config(&state, &query.url).await?))
}
