use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::catalogue::{self, ItemInput};
use super::service;
use crate::auth::{Customer, Role, Staff};
use crate::error::AppError;
use crate::error::ErrorBody;
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct Page {
    before_id: Option<i64>,
    limit: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/me/points",
    tag = "points",
    params(Page),
    responses(
        (status = 200, description = "the balance and statement, newest first", body = crate::points::service::PointsStatement),
    ),
    security(("customer" = []))
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Adjustment {
    user_id: i64,
    delta: i64,
}

/// Grants (or takes back) points by hand; the Idempotency-Key makes a repeated click adjust once.
#[utoipa::path(
    post,
    path = "/admin/v1/points/adjustments",
    tag = "points",
    params(("Idempotency-Key" = String, Header, description = "8-64 letters, digits, - or _; the same key answers the same")),
    request_body = Adjustment,
    responses(
        (status = 200, description = "the ledger entry (audited)", body = crate::rewards::LedgerEntry),
        (status = 400, description = "invalid_points, idempotency_key_missing, idempotency_key_invalid", body = ErrorBody),
        (status = 409, description = "insufficient_points, idempotency_in_progress", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
    ),
    security(("staff" = []))
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Redeem {
    campaign: String,
    item: String,
}

/// Spends points on a catalogue item; the Idempotency-Key makes a retried tap redeem once.
#[utoipa::path(
    post,
    path = "/api/v1/points/redeem",
    tag = "points",
    params(("Idempotency-Key" = String, Header, description = "8-64 letters, digits, - or _; the same key answers the same")),
    request_body = Redeem,
    responses(
        (status = 200, description = "redeemed (the same answer for the same key)", body = crate::points::catalogue::Redeemed),
        (status = 400, description = "invalid_item, idempotency_key_missing, idempotency_key_invalid", body = ErrorBody),
        (status = 403, description = "campaign_not_live, campaign_paused", body = ErrorBody),
        (status = 404, description = "item_not_found", body = ErrorBody),
        (status = 409, description = "out_of_stock, redeem_limit_reached, insufficient_points, idempotency_in_progress", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
    ),
    security(("customer" = []))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{slug}/catalogue",
    tag = "points",
    params(("slug" = String, Path, description = "the campaign")),
    responses(
        (status = 200, description = "`{\"items\": [...]}`, cheapest first", body = Object),
        (status = 404, description = "item_not_found", body = ErrorBody),
    )
)]
async fn get_catalogue(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "items": catalogue::items(&state.db, &slug).await? })))
}

#[utoipa::path(
    post,
    path = "/admin/v1/campaigns/{slug}/catalogue",
    tag = "points",
    params(("slug" = String, Path, description = "the campaign")),
    request_body = ItemInput,
    responses(
        (status = 201, description = "the item", body = Object),
        (status = 400, description = "invalid_item", body = ErrorBody),
        (status = 404, description = "item_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
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
