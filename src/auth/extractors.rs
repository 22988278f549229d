//! `Customer` and `Staff`: a handler that takes one of these runs only for a valid token of that kind.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::standing::{active_staff, standing, Standing, StandingCache};
use super::{Actor, AuthError, Claims, JwtKeys, Role, TokenKind};
use crate::error::AppError;
use crate::http::{registered, RequestId};
use crate::state::AppState;

/// Claims already verified earlier in this request (by the customer rate limiter), so the token is checked once.
#[derive(Clone)]
pub(crate) struct VerifiedClaims(pub Claims);

/// The H5 session cookie set after web OAuth; it carries the same customer token as the bearer header.
pub const SESSION_COOKIE: &str = "wxc_session";

/// The request's token: the `Authorization: Bearer` header, else the H5 session cookie.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<String> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned());
    header.or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()))
}

fn claims(req: &HttpRequest) -> Result<Claims, AppError> {
    if let Some(VerifiedClaims(claims)) = req.extensions().get::<VerifiedClaims>() {
        return Ok(claims.clone());
    }
    let token = bearer_token(req).ok_or(AuthError::MissingToken)?;
    Ok(registered::<JwtKeys>(req)?.verify(&token)?)
}

/// A logged-in customer.
#[derive(Debug, Clone, Copy)]
pub struct Customer {
    pub user_id: i64,
}

impl FromRequest for Customer {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { customer(&req).await })
    }
}

/// A valid token is not enough: its user must still exist and not be blocked by staff.
async fn customer(req: &HttpRequest) -> Result<Customer, AppError> {
    let state = registered::<AppState>(req)?;
    let claims = claims(req)?;
    if claims.kind != TokenKind::Customer {
        return Err(AuthError::WrongAccountKind.into());
    }
    let user_id = claims.sub.parse().map_err(|_| AuthError::InvalidToken)?;
    let cache = req.app_data::<web::Data<StandingCache>>();
    if cache.is_some_and(|cache| cache.is_active(user_id)) {
        return Ok(Customer { user_id });
    }
    let generation = cache.map(|cache| cache.generation());
    match standing(&state.db, user_id).await? {
        Standing::Active => {
            if let (Some(cache), Some(generation)) = (cache, generation) {
                cache.remember_active(user_id, generation);
            }
            Ok(Customer { user_id })
        }
        Standing::Disabled => Err(AuthError::AccountDisabled.into()),
        Standing::Unknown => Err(AuthError::InvalidToken.into()),
    }
}

/// A logged-in, enabled staff account. The role is read from the database on each request, so disabling an
/// account or changing its role takes effect at once, not when its token expires.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: i64,
    pub username: String,
    pub role: Role,
    request_id: Option<String>,
}

impl Staff {
    /// Refuses with 403 unless this account has `role` (admin has every role).
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.role.allows(role) {
            Ok(())
        } else {
            Err(AuthError::MissingRole {
                required: role.as_str(),
            }
            .into())
        }
    }

    /// Like `require`, for routes open to any of several roles.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), AppError> {
        match roles.iter().any(|role| self.role.allows(*role)) {
            true => Ok(()),
            false => Err(AuthError::MissingRole {
                required: roles.first().map(Role::as_str).unwrap_or("admin"),
            }
            .into()),
        }
    }

    /// This account as the actor of an audited change.
    pub fn actor(&self) -> Actor {
        Actor {
            staff_id: Some(self.id),
            label: self.username.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

impl FromRequest for Staff {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = registered::<AppState>(&req)?;
            let claims = claims(&req)?;
            if claims.kind != TokenKind::Staff {
                return Err(AuthError::WrongAccountKind.into());
            }
            let staff_id: i64 = claims.sub.parse().map_err(|_| AuthError::InvalidToken)?;
            let (username, role) = active_staff(&state.db, staff_id)
                .await?
                .ok_or(AuthError::InvalidToken)?;
            let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
            Ok(Staff {
                id: staff_id,
                username,
                role,
                request_id,
            })
        })
    }
}
