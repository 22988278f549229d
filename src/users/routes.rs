use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::login;
use super::phone::PhoneCipher;
use super::service::{self, Channel};
use crate::auth::{AuthError, Customer, IssuedToken, JwtKeys, Role, Staff, StandingCache};
use crate::error::ErrorBody;
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DisabledRequest {
    disabled: bool,
    /// Why, for the audit log (a case number, "customer request" ...).
    reason: String,
}

/// Blocks or unblocks a customer account (operators; audited with the reason).
#[utoipa::path(
    put,
    path = "/admin/v1/users/{id}/disabled",
    tag = "users",
    params(("id" = i64, Path, description = "the customer")),
    request_body = DisabledRequest,
    responses(
        (status = 200, description = "the account's state (audited)", body = Object),
        (status = 404, description = "user_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn set_user_disabled(
    state: web::Data<AppState>,
    standing: web::Data<StandingCache>,
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
    let user_id = id.into_inner();
    let status = service::set_disabled(
        &state.db,
        &staff.actor(),
        user_id,
        body.disabled,
        reason,
        state.clock.now(),
    )
    .await?;
    standing.forget(user_id);
    Ok(HttpResponse::Ok().json(status))
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "users",
    responses(
        (status = 200, description = "the customer's profile", body = crate::users::service::UserProfile),
    ),
    security(("customer" = []))
)]
async fn get_profile(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, AppError> {
    let profile = service::profile(&state.db, customer.user_id).await?;
    Ok(HttpResponse::Ok().json(profile))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PhoneRequest {
    code: String,
}

/// Binds the phone number behind a mini-program `getPhoneNumber` code; answers the profile with it masked.
#[utoipa::path(
    post,
    path = "/api/v1/me/phone",
    tag = "users",
    request_body = PhoneRequest,
    responses(
        (status = 200, description = "the profile with the masked phone", body = crate::users::service::UserProfile),
        (status = 400, description = "invalid_code, watermark_mismatch", body = ErrorBody),
        (status = 502, description = "wechat_unavailable, wechat_error, wechat_bad_response", body = ErrorBody),
        (status = 504, description = "wechat_timeout", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn bind_phone(
    state: web::Data<AppState>,
    phone_cipher: web::Data<PhoneCipher>,
    customer: Customer,
    body: ValidJson<PhoneRequest>,
) -> Result<HttpResponse, AppError> {
    let profile = login::bind_phone(&state, &phone_cipher, customer.user_id, &body.code).await?;
    Ok(HttpResponse::Ok().json(profile))
}

/// A new customer's first login through a shared path credits its inviter. The login stands whatever the
/// credit does: a failure is logged with the referee, for staff to credit by hand.
async fn credit_inviter(
    state: &AppState,
    invited: &dyn service::InvitedLogins,
    user: &service::UserProfile,
    inviter: Option<&str>,
) {
    let (Some(code), true) = (inviter, user.created_now) else {
        return;
    };
    if let Err(error) = invited.credit(state.context(), user.id, code).await {
        tracing::error!(
            ?error,
            referee = user.id,
            "a first login's referral was not credited"
        );
    }
}

/// A customer login's answer: our token, and who it is for.
#[derive(Serialize, utoipa::ToSchema)]
struct CustomerLogin {
    token: IssuedToken,
    user: service::UserProfile,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DevLoginRequest {
    openid: String,
    /// The invite code of the shared path this customer came in by (`?inviter=CODE`).
    #[serde(default)]
    inviter: Option<String>,
}

/// Logs in as any mini-program openid without WeChat: for newcomers and demos, only where `auth.dev_login` is on.
#[utoipa::path(
    post,
    path = "/api/v1/auth/dev-login",
    tag = "users",
    request_body = DevLoginRequest,
    responses(
        (status = 200, description = "the token and the customer (only where auth.dev_login is on)", body = CustomerLogin),
        (status = 400, description = "invalid_openid", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
async fn dev_login(
    state: web::Data<AppState>,
    jwt: web::Data<JwtKeys>,
    invited: web::Data<dyn service::InvitedLogins>,
    body: ValidJson<DevLoginRequest>,
) -> Result<HttpResponse, AppError> {
    if !state.settings.auth.dev_login {
        return Err(AuthError::DevLoginDisabled.into());
    }
    let user = service::link_user(
        &state.db,
        Channel::MiniProgram,
        &body.openid,
        None,
        state.context().now,
    )
    .await?;
    credit_inviter(&state, invited.as_ref(), &user, body.inviter.as_deref()).await;
    let token = jwt.issue_customer(user.id)?;
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .json(CustomerLogin { token, user }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    code: String,
    /// The invite code of the shared path this customer came in by (`?inviter=CODE`).
    #[serde(default)]
    inviter: Option<String>,
}

/// Mini-program login with a `wx.login` code.
#[utoipa::path(
    post,
    path = "/api/v1/auth/wx-login",
    tag = "users",
    request_body = CodeRequest,
    responses(
        (status = 200, description = "the token and the customer", body = CustomerLogin),
        (status = 400, description = "invalid_code", body = ErrorBody),
        (status = 403, description = "risky_user", body = ErrorBody),
        (status = 502, description = "wechat_unavailable, wechat_error, wechat_bad_response", body = ErrorBody),
        (status = 504, description = "wechat_timeout", body = ErrorBody),
    )
)]
async fn wx_login(
    state: web::Data<AppState>,
    jwt: web::Data<JwtKeys>,
    invited: web::Data<dyn service::InvitedLogins>,
    body: ValidJson<CodeRequest>,
) -> Result<HttpResponse, AppError> {
    let (token, user) = login::mini_program_login(&state, &jwt, &body.code).await?;
    credit_inviter(&state, invited.as_ref(), &user, body.inviter.as_deref()).await;
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .json(CustomerLogin { token, user }))
}
