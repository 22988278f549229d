use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::login;
use super::phone::PhoneCipher;
use super::service::{self, Channel};
use crate::auth::{AuthError, Customer, JwtKeys, Role, Staff};
use crate::error::{AppError, ErrorCode};
use crate::http::{no_store, ValidJson};
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/dev-login", web::post().to(dev_login))
        .route("/auth/wx-login", web::post().to(wx_login))
        .route("/me", web::get().to(get_profile))
        .route("/me/phone", web::post().to(bind_phone));
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/{id}/disabled", web::put().to(set_user_disabled));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisabledRequest {
    disabled: bool,
    /// Why, for the audit log (a case number, "customer request" ...).
    reason: String,
}

/// Blocks or unblocks a customer account (operators; audited with the reason).
async fn set_user_disabled(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<i64>,
    body: ValidJson<DisabledRequest>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let reason = body.reason.trim();
    if !(1..=200).contains(&reason.chars().count()) {
        return Err(
            AppError::new(ErrorCode::InvalidInput, "reason: 1-200 characters").with_field("reason"),
        );
    }
    let status = service::set_disabled(
        &state.db,
        &staff.actor(),
        id.into_inner(),
        body.disabled,
        reason,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(status))
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
    phone_cipher: web::Data<PhoneCipher>,
    customer: Customer,
    body: ValidJson<PhoneRequest>,
) -> Result<HttpResponse, AppError> {
    let profile = login::bind_phone(&state, &phone_cipher, customer.user_id, &body.code).await?;
    Ok(HttpResponse::Ok().json(profile))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevLoginRequest {
    openid: String,
}

/// Logs in as any mini-program openid without WeChat: for newcomers and demos, only where `auth.dev_login` is on.
async fn dev_login(
    state: web::Data<AppState>,
    jwt: web::Data<JwtKeys>,
    body: ValidJson<DevLoginRequest>,
) -> Result<HttpResponse, AppError> {
    if !state.settings.auth.dev_login {
        return Err(AuthError::DevLoginDisabled.into());
    }
    let user = service::link_user(&state.db, Channel::MiniProgram, &body.openid, None).await?;
    let token = jwt.issue_customer(user.id)?;
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
    jwt: web::Data<JwtKeys>,
    body: ValidJson<CodeRequest>,
) -> Result<HttpResponse, AppError> {
    let (token, user) = login::mini_program_login(&state, &jwt, &body.code).await?;
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .json(json!({ "token": token, "user": user })))
}
