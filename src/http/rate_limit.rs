use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};

use super::client_ip;
use crate::auth::{bearer_token, TokenKind, VerifiedClaims};
use crate::config::RateLimitRule;
use crate::error::AppError;
use crate::state::AppState;

/// Customer routes: a budget per client address and, for a valid customer token, per user. Each check is one
/// atomic store operation, so the limits hold across every instance sharing the store.
pub async fn limit_customers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let limits = &state.settings.rate_limit;
    let ip = client_ip(req.request(), &state.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    if let Some(refusal) = check(&state, "customer_ip", &ip, limits.customer_per_ip).await {
        return Ok(req
            .into_response(refusal.error_response())
            .map_into_right_body());
    }
    let claims = bearer_token(req.request()).and_then(|token| state.jwt.verify(&token).ok());
    if let Some(claims) = claims.filter(|c| c.kind == TokenKind::Customer) {
        if let Some(refusal) = check(
            &state,
            "customer_user",
            &claims.sub,
            limits.customer_per_user,
        )
        .await
        {
            return Ok(req
                .into_response(refusal.error_response())
                .map_into_right_body());
        }
        req.extensions_mut().insert(VerifiedClaims(claims));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The refusal to send, if any. A store outage lets the request through (logged): rate limiting protects the
/// service, and every action that grants something fails safely on its own without the store.
async fn check(
    state: &AppState,
    bucket: &str,
    subject: &str,
    rule: RateLimitRule,
) -> Option<AppError> {
    match state.store.rate_limit(bucket, subject, rule).await {
        Ok(decision) if decision.allowed => None,
        Ok(decision) => Some(AppError::too_many_requests(
            decision.retry_after.as_secs_f64().ceil() as u64,
        )),
        Err(error) => {
            tracing::error!(error = ?error, bucket, "rate limiter unavailable; letting the request through");
            None
        }
    }
}
