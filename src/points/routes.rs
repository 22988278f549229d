use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::catalogue::{self, ItemInput};
use super::service;
use crate::auth::{Customer, Role, Staff};
use crate::error::AppError;
use crate::http::ValidJson;
use crate::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/points", web::get().to(get_points))
        .route("/points/redeem", web::post().to(redeem_points))
        .route("/campaigns/{slug}/catalogue", web::get().to(get_catalogue));
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/points/adjustments", web::post().to(adjust_points))
        .route(
            "/campaigns/{slug}/catalogue",
            web::post().to(create_catalogue_item),
        );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    before_id: Option<i64>,
    limit: Option<u64>,
}

async fn get_points(
    state: web::Data<AppState>,
    customer: Customer,
    page: web::Query<Page>,
) -> Result<HttpResponse, AppError> {
    let statement = service::statement(
        &state.db,
        customer.user_id,
        page.before_id,
        page.limit.unwrap_or(20),
    )
    .await?;
    Ok(HttpResponse::Ok().json(statement))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Adjustment {
    user_id: i64,
    delta: i64,
}

/// Grants (or takes back) points by hand; the Idempotency-Key makes a repeated click adjust once.
async fn adjust_points(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<Adjustment>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let key = IdempotencyKey::from_request(&req)?;
    let fingerprint =
        idempotency::fingerprint(&[&body.user_id.to_be_bytes(), &body.delta.to_be_bytes()]);
    let scope = format!("points_adjust:{}", staff.id);
    let outcome = idempotency::run_once(state.store(), &scope, &key, &fingerprint, || async {
        let entry = service::adjust(
            &state.db,
            &staff.actor(),
            body.user_id,
            body.delta,
            key.as_str(),
            state.now(),
        )
        .await?;
        StoredResponse::ok(entry)
    })
    .await?;
    Ok(outcome.into_http())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Redeem {
    campaign: String,
    item: String,
}

/// Spends points on a catalogue item; the Idempotency-Key makes a retried tap redeem once.
async fn redeem_points(
    req: HttpRequest,
    state: web::Data<AppState>,
    customer: Customer,
    body: ValidJson<Redeem>,
) -> Result<HttpResponse, AppError> {
    let key = IdempotencyKey::from_request(&req)?;
    let fingerprint = idempotency::fingerprint(&[body.campaign.as_bytes(), body.item.as_bytes()]);
    let scope = format!("redeem:{}", customer.user_id);
    let outcome = idempotency::run_once(state.store(), &scope, &key, &fingerprint, || async {
        let now = state.now();
        let redeemed = catalogue::redeem(
            &state.db,
            state.store(),
            customer.user_id,
            &body.campaign,
            &body.item,
            key.as_str(),
            now,
        )
        .await?;
        StoredResponse::ok(redeemed)
    })
    .await?;
    Ok(outcome.into_http())
}

async fn get_catalogue(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "items": catalogue::items(&state.db, &slug).await? })))
}

async fn create_catalogue_item(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<ItemInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    Ok(HttpResponse::Created()
        .json(catalogue::create_item(&state.db, &staff.actor(), &slug, &body).await?))
}
