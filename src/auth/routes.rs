use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::staff::{self, NewStaff, Role};
use super::{AuthError, Staff};
use crate::error::AppError;
use crate::http::{address_of, no_store, spend, ValidJson};
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
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .json(json!({ "token": token, "user": user })))
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
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .json(json!({ "token": token, "user": user })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffLoginRequest {
    username: String,
    password: SecretString,
}

/// Password guessing is limited per (username, address) and per address, which every attempt spends, and by a
/// slow per-username backstop that only failures spend: nobody can lock a staff member out from a few
/// addresses, and a successful login costs the account nothing.
async fn staff_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<StaffLoginRequest>,
) -> Result<HttpResponse, AppError> {
    let limits = &state.settings.rate_limit;
    let ip = address_of(&req, &state);
    let body = body.into_inner();
    if body.username.len() > staff::MAX_USERNAME_LEN {
        return Err(AuthError::InvalidCredentials.into());
    }
    for subject in [
        format!("user:{}|ip:{ip}", body.username),
        format!("ip:{ip}"),
    ] {
        if let Some(refusal) = spend(&state, "staff_login", &subject, limits.staff_login).await {
            return Err(refusal);
        }
    }
    let failures = state
        .store
        .rate_limit_peek(
            "staff_login_failures",
            &body.username,
            limits.staff_login_failures,
        )
        .await?;
    if !failures.allowed {
        return Err(AppError::too_many_requests(
            failures.retry_after.as_secs_f64().ceil() as u64,
        ));
    }
    match staff::login(&state.db, &state.jwt, &body.username, body.password).await {
        Ok((token, account)) => Ok(HttpResponse::Ok()
            .insert_header(no_store())
            .json(json!({ "token": token, "staff": account }))),
        Err(AuthError::InvalidCredentials) => {
            // Spent whether or not the budget is left: the answer stays "wrong password" either way.
            let _ = spend(
                &state,
                "staff_login_failures",
                &body.username,
                limits.staff_login_failures,
            )
            .await;
            Err(AuthError::InvalidCredentials.into())
        }
        Err(error) => Err(error.into()),
    }
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
