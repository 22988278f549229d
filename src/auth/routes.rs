use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::staff::{self, NewStaff, Role};
use super::{AuthError, Staff};
use crate::error::AppError;
use crate::http::{client_ip, ValidJson};
use crate::state::AppState;
use crate::users;
use crate::users::service::Channel;

pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/dev-login", web::post().to(dev_login))
        .route("/auth/wx-login", web::post().to(wx_login));
}

pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::post().to(staff_login))
        .route("/staff", web::get().to(list_staff))
        .route("/staff", web::post().to(create_staff));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevLoginRequest {
    openid: String,
}

/// Logs in as any mini-program openid without WeChat: for newcomers and demos, only where `auth.dev_login` is on.
async fn dev_login(
    state: web::Data<AppState>,
    body: ValidJson<DevLoginRequest>,
) -> Result<HttpResponse, AppError> {
    if !state.settings.auth.dev_login {
        return Err(AuthError::DevLoginDisabled.into());
    }
    let user =
        users::service::link_user(&state.db, Channel::MiniProgram, &body.openid, None).await?;
    let token = state.jwt.issue_customer(user.id)?;
    Ok(HttpResponse::Ok().json(json!({ "token": token, "user": user })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    code: String,
}

/// Mini-program login with a `wx.login` code.
async fn wx_login(
    state: web::Data<AppState>,
    body: ValidJson<CodeRequest>,
) -> Result<HttpResponse, AppError> {
    let (token, user) = super::login::mini_program_login(&state, &body.code).await?;
    Ok(HttpResponse::Ok().json(json!({ "token": token, "user": user })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffLoginRequest {
    username: String,
    password: SecretString,
}

async fn staff_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<StaffLoginRequest>,
) -> Result<HttpResponse, AppError> {
    // Password guessing is limited per username and per address, whoever asks.
    let rule = state.settings.rate_limit.staff_login;
    let ip = client_ip(&req, &state.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    for subject in [format!("user:{}", body.username), format!("ip:{ip}")] {
        let decision = state
            .store
            .rate_limit("staff_login", &subject, rule)
            .await?;
        if !decision.allowed {
            return Err(AppError::too_many_requests(
                decision.retry_after.as_secs_f64().ceil() as u64,
            ));
        }
    }
    let body = body.into_inner();
    let (token, account) =
        staff::login(&state.db, &state.jwt, &body.username, body.password).await?;
    Ok(HttpResponse::Ok().json(json!({ "token": token, "staff": account })))
}

async fn list_staff(state: web::Data<AppState>, staff: Staff) -> Result<HttpResponse, AppError> {
    staff.require(Role::Admin)?;
    let accounts = staff::list_staff(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({ "staff": accounts })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateStaffRequest {
    username: String,
    role: Role,
    password: SecretString,
}

async fn create_staff(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<CreateStaffRequest>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Admin)?;
    let body = body.into_inner();
    let new = NewStaff {
        username: body.username,
        role: body.role,
        password: body.password,
    };
    let created = staff::create_staff(&state.db, &staff.actor(), new).await?;
    Ok(HttpResponse::Created().json(created))
}
