use actix_web::{web, HttpResponse};

use super::{record, EventBatch};
use crate::auth::{enforce, Customer};
use crate::error::{AppError, ErrorBody};
use crate::http::ValidJson;
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::post().to(report_events));
}

/// The page reports what the caller looked at (page views, content by category): checked against the schema,
/// all recorded or none, at the server's time.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "behaviour",
    request_body = EventBatch,
    responses(
        (status = 202, description = "recorded", body = super::Recorded),
        (status = 400, description = "invalid_events", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn report_events(
    state: web::Data<AppState>,
    customer: Customer,
    body: ValidJson<EventBatch>,
) -> Result<HttpResponse, AppError> {
    let rule = state.settings.rate_limit.behaviour_events;
    let subject = customer.user_id.to_string();
    enforce(
        state
            .store
            .rate_limit("behaviour_events", &subject, rule)
            .await?,
    )?;
    let recorded = record(
        &state.db,
        &state.settings.behaviour,
        customer.user_id,
        &body,
        state.now(),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(recorded))
}
