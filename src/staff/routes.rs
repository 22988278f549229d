//! Staff logins and the accounts admins manage. Mounted at `/admin/v1`.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::service::{self as staff, NewStaff};
use crate::auth::{address_of, enforce, AuthError, JwtKeys, Role, Staff};
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::http::{no_store, ValidJson};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::post().to(staff_login))
        .route("/staff", web::get().to(list_staff))
        .route("/staff", web::post().to(create_staff));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StaffLoginRequest {
    username: String,
    #[schema(value_type = String)]
    password: SecretString,
}

/// How long an address a staff member logged in from stays known to the failure backstop.
const KNOWN_ADDRESS_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Password guessing is limited per (username, address) and per address, which every attempt spends, and by a
/// slow per-username backstop that only failures spend. Past the backstop, only addresses the account logged in
/// from before may still try: so nobody can lock a staff member out, from one address or many, and a successful
/// login costs the account nothing. A store outage refuses staff logins (503) rather than lifting the limits.
#[utoipa::path(
    post,
    path = "/admin/v1/login",
    tag = "staff",
    request_body = StaffLoginRequest,
    responses(
        (status = 200, description = "`{\"token\", \"staff\"}`", body = Object),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody),
    )
)]
async fn staff_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    jwt: web::Data<JwtKeys>,
    body: ValidJson<StaffLoginRequest>,
) -> Result<HttpResponse, AppError> {
    let limits = &state.settings.rate_limit;
    let ip = address_of(&req, &state);
    let body = body.into_inner();
    if body.username.len() > staff::MAX_USERNAME_LEN {
        return Err(AuthError::InvalidCredentials.into());
    }
    let store = state.store.as_ref();
    for subject in [
        format!("user:{}|ip:{ip}", body.username),
        format!("ip:{ip}"),
    ] {
        enforce(
            store
                .rate_limit("staff_login", &subject, limits.staff_login)
                .await?,
        )?;
    }
    let failures_rule = limits.staff_login_failures;
    let known_address = format!("staff_known_address:{}|{ip}", body.username);
    let backstop = store
        .rate_limit_peek("staff_login_failures", &body.username, failures_rule)
        .await?;
    if !backstop.allowed && store.credential(&known_address).await?.is_none() {
        enforce(backstop)?;
    }
    match staff::login(&state.db, &jwt, &body.username, body.password).await {
        Ok((token, account)) => {
            store
                .put_credential(&known_address, "1", KNOWN_ADDRESS_TTL)
                .await?;
            Ok(HttpResponse::Ok()
                .insert_header(no_store())
                .json(json!({ "token": token, "staff": account })))
        }
        Err(AuthError::InvalidCredentials) => {
            // Spent whether or not budget is left: the answer stays "wrong password" either way.
            store
                .rate_limit("staff_login_failures", &body.username, failures_rule)
                .await?;
            Err(AuthError::InvalidCredentials.into())
        }
        Err(error) => Err(error.into()),
    }
}

#[utoipa::path(
    get,
    path = "/admin/v1/staff",
    tag = "staff",
    responses(
        (status = 200, description = "`{\"staff\": [StaffView]}`", body = Object),
    ),
    security(("staff" = []))
)]
async fn list_staff(state: web::Data<AppState>, staff: Staff) -> Result<HttpResponse, AppError> {
    staff.require(Role::Admin)?;
    let accounts = staff::list_staff(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({ "staff": accounts })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateStaffRequest {
    username: String,
    role: Role,
    #[schema(value_type = String)]
    password: SecretString,
}

#[utoipa::path(
    post,
    path = "/admin/v1/staff",
    tag = "staff",
    request_body = CreateStaffRequest,
    responses(
        (status = 201, description = "created (audited)", body = crate::staff::service::StaffView),
        (status = 400, description = "invalid_input", body = ErrorBody),
        (status = 409, description = "username_taken", body = ErrorBody),
    ),
    security(("staff" = []))
)]
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
