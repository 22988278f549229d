//! Per-address (and, for customers, per-user) request budgets. Each check is one atomic store operation, so the
//! limits hold across every instance sharing the store. `/healthz`, `/readyz` and `/metrics` have none: load
//! balancers and Prometheus poll them, they write nothing, and a limited health check would take an instance
//! out of service.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, ResponseError};

use super::{bearer_token, JwtKeys, TokenKind, VerifiedClaims};
use crate::config::RateLimitRule;
use crate::error::AppError;
use crate::http::client_ip;
use crate::state::AppState;
use crate::store::RateDecision;

/// The client's address as the limits see it (`X-Forwarded-For` only from trusted proxies).
pub fn address_of(req: &HttpRequest, state: &AppState) -> String {
    client_ip(req, &state.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Customer routes: a budget per client address and, for a valid customer token, per user.
pub async fn limit_customers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return pass(req, next).await;
    };
    let limits = &state.settings.rate_limit;
    let ip = address_of(req.request(), &state);
    if let Some(refusal) = spend(&state, "customer_ip", &ip, limits.customer_per_ip).await {
        return refuse(req, refusal);
    }
    let keys = req.app_data::<web::Data<JwtKeys>>();
    let claims = bearer_token(req.request())
        .and_then(|token| keys.and_then(|keys| keys.verify(&token).ok()));
    if let Some(claims) = claims.filter(|c| c.kind == TokenKind::Customer) {
        let per_user = limits.customer_per_user;
        if let Some(refusal) = spend(&state, "customer_user", &claims.sub, per_user).await {
            return refuse(req, refusal);
        }
        req.extensions_mut().insert(VerifiedClaims(claims));
    }
    pass(req, next).await
}

/// `/h5`: pages and the web OAuth login, per client address.
pub async fn limit_h5(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    limit_address(req, next, "h5_ip", |s| s.settings.rate_limit.h5_per_ip).await
}

/// `/admin/v1`, per client address (staff login has its own, tighter budgets on top).
pub async fn limit_staff(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    limit_address(req, next, "staff_ip", |s| {
        s.settings.rate_limit.staff_per_ip
    })
    .await
}

async fn limit_address(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
    bucket: &str,
    rule: impl Fn(&AppState) -> RateLimitRule,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return pass(req, next).await;
    };
    let ip = address_of(req.request(), &state);
    if let Some(refusal) = spend(&state, bucket, &ip, rule(&state)).await {
        return refuse(req, refusal);
    }
    pass(req, next).await
}

async fn pass<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn refuse<B>(
    req: ServiceRequest,
    refusal: AppError,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    Ok(req
        .into_response(refusal.error_response())
        .map_into_right_body())
}

/// Counts one request of `subject` in `bucket`: the refusal to send past the budget. A store outage lets the
/// request through (logged): rate limiting protects the service, and every action that grants something fails
/// safely on its own without the store.
pub async fn spend(
    state: &AppState,
    bucket: &str,
    subject: &str,
    rule: RateLimitRule,
) -> Option<AppError> {
    match state.store.rate_limit(bucket, subject, rule).await {
        Ok(decision) => enforce(decision).err(),
        Err(error) => {
            tracing::error!(error = ?error, bucket, "rate limiter unavailable; letting the request through");
            None
        }
    }
}

/// 429 with `Retry-After` unless `decision` allows.
pub fn enforce(decision: RateDecision) -> Result<(), AppError> {
    if decision.allowed {
        Ok(())
    } else {
        Err(AppError::too_many_requests(
            decision.retry_after.as_secs_f64().ceil() as u64,
        ))
    }
}
