use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::ErrorBody;
use crate::state::AppState;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Alive: the process answers. Says nothing about dependencies, so an orchestrator never restarts us for a
/// database outage.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "alive", body = Object),
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready: the database and the state store both answer within a short timeout.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "the database and the store answer", body = Object),
        (status = 503, description = "service_unavailable", body = ErrorBody),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (database, store) = tokio::join!(
        tokio::time::timeout(PROBE_TIMEOUT, state.db.ping()),
        tokio::time::timeout(PROBE_TIMEOUT, state.store.ping()),
    );
    let database_ok = matches!(database, Ok(Ok(())));
    let store_ok = matches!(store, Ok(Ok(())));
    if !database_ok {
        tracing::warn!(result = ?database, "readiness: database did not answer");
    }
    if !store_ok {
        tracing::warn!(result = ?store, "readiness: state store did not answer");
    }
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = json!({
        "status": if database_ok && store_ok { "ready" } else { "not_ready" },
        "database": word(database_ok),
        "store": word(store_ok),
        "store_backend": state.store.backend(),
    });
    if database_ok && store_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
