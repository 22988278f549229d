use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::service::{self, PoolInput};
use crate::auth::{Customer, Role, Staff};
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::http::ValidJson;
use crate::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/campaigns/{slug}/lottery/{pool}/draws",
        web::post().to(draw_prize),
    )
    .route(
        "/campaigns/{slug}/lottery/{pool}/odds",
        web::get().to(get_odds),
    )
    .route(
        "/campaigns/{slug}/lottery/{pool}/chances",
        web::post().to(buy_chances),
    )
    .route(
        "/campaigns/{slug}/lottery/{pool}/chances",
        web::get().to(get_chances),
    );
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/campaigns/{slug}/pools", web::post().to(create_pool))
        .route("/draws", web::get().to(list_draws));
}

/// One draw. The Idempotency-Key makes a retried tap draw once and answer the same.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/lottery/{pool}/draws",
    tag = "lottery",
    params(("slug" = String, Path, description = "the campaign"), ("pool" = String, Path, description = "the prize pool"), ("Idempotency-Key" = String, Header, description = "8-64 letters, digits, - or _; the same key answers the same")),
    responses(
        (status = 200, description = "the prize drawn (the same answer for the same key)", body = crate::lottery::service::DrawResult),
        (status = 403, description = "campaign_not_live, activity_not_live, campaign_paused", body = ErrorBody),
        (status = 404, description = "campaign_not_found, pool_not_found", body = ErrorBody),
        (status = 409, description = "no_chance, out_of_stock, idempotency_in_progress", body = ErrorBody),
        (status = 503, description = "store_rebuilding", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
        (status = 400, description = "idempotency_key_missing, idempotency_key_invalid", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn draw_prize(
    req: HttpRequest,
    state: web::Data<AppState>,
    live_pools: web::Data<service::LivePools>,
    customer: Customer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (campaign, pool) = path.into_inner();
    let key = IdempotencyKey::from_request(&req)?;
    let fingerprint = idempotency::fingerprint(&[campaign.as_bytes(), pool.as_bytes()]);
    let scope = format!("draw:{}", customer.user_id);
    let outcome = idempotency::run_once(state.store(), &scope, &key, &fingerprint, || async {
        let result = service::draw(
            state.context(),
            &live_pools,
            customer.user_id,
            &campaign,
            &pool,
            key.as_str(),
        )
        .await?;
        StoredResponse::ok(result)
    })
    .await?;
    Ok(outcome.into_http())
}

/// The published odds: public, no login, from the same rows the draw reads.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{slug}/lottery/{pool}/odds",
    tag = "lottery",
    params(("slug" = String, Path, description = "the campaign"), ("pool" = String, Path, description = "the prize pool")),
    responses(
        (status = 200, description = "the published odds and prize values", body = crate::lottery::service::PoolOdds),
        (status = 404, description = "pool_not_found", body = ErrorBody),
    )
)]
async fn get_odds(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (campaign, pool) = path.into_inner();
    Ok(HttpResponse::Ok().json(service::odds(&state.db, &campaign, &pool).await?))
}

/// The caller's chances left in a pool, counted by the database (today's free chances included).
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{slug}/lottery/{pool}/chances",
    tag = "lottery",
    params(("slug" = String, Path, description = "the campaign"), ("pool" = String, Path, description = "the prize pool")),
    responses(
        (status = 200, description = "the chances left", body = crate::lottery::service::ChancesLeft),
        (status = 404, description = "pool_not_found", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn get_chances(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (campaign, pool) = path.into_inner();
    let left = service::chances_left(state.context(), customer.user_id, &campaign, &pool).await?;
    Ok(HttpResponse::Ok()
        .insert_header(crate::http::no_store())
        .json(left))
}

#[utoipa::path(
    post,
    path = "/admin/v1/campaigns/{slug}/pools",
    tag = "lottery",
    params(("slug" = String, Path, description = "the campaign")),
    request_body = PoolInput,
    responses(
        (status = 201, description = "the pool as published", body = crate::lottery::service::PoolOdds),
        (status = 400, description = "invalid_pool", body = ErrorBody),
        (status = 404, description = "pool_not_found", body = ErrorBody),
        (status = 409, description = "pool_frozen", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn create_pool(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<PoolInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let odds = service::create_pool(&state.db, &staff.actor(), &slug, &body, state.now()).await?;
    Ok(HttpResponse::Created().json(odds))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DrawQuery {
    pool_id: Option<i64>,
    limit: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/admin/v1/draws",
    tag = "lottery",
    params(DrawQuery),
    responses(
        (status = 200, description = "`{\"draws\": [...]}`, newest first", body = Object),
    ),
    security(("staff" = []))
)]
async fn list_draws(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<DrawQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Auditor, Role::Operator])?;
    let draws = service::draws(&state.db, query.pool_id, query.limit.unwrap_or(100)).await?;
    Ok(HttpResponse::Ok().json(json!({ "draws": draws })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BuyChances {
    count: u32,
}

/// Exchanges points for draw chances; the Idempotency-Key makes a retried tap exchange once.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/lottery/{pool}/chances",
    tag = "lottery",
    params(("slug" = String, Path, description = "the campaign"), ("pool" = String, Path, description = "the prize pool"), ("Idempotency-Key" = String, Header, description = "8-64 letters, digits, - or _; the same key answers the same")),
    request_body = BuyChances,
    responses(
        (status = 200, description = "`{\"chances\": n}`", body = Object),
        (status = 400, description = "invalid_pool, idempotency_key_missing, idempotency_key_invalid", body = ErrorBody),
        (status = 403, description = "campaign_not_live, activity_not_live, campaign_paused", body = ErrorBody),
        (status = 404, description = "pool_not_found", body = ErrorBody),
        (status = 409, description = "chance_cap_reached, chances_not_for_sale, insufficient_points, idempotency_in_progress", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn buy_chances(
    req: HttpRequest,
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
    body: ValidJson<BuyChances>,
) -> Result<HttpResponse, AppError> {
    let (campaign, pool) = path.into_inner();
    let key = IdempotencyKey::from_request(&req)?;
    let count = body.count;
    let fingerprint =
        idempotency::fingerprint(&[campaign.as_bytes(), pool.as_bytes(), &count.to_be_bytes()]);
    let scope = format!("chances:{}", customer.user_id);
    let outcome = idempotency::run_once(state.store(), &scope, &key, &fingerprint, || async {
        let granted = service::buy_chances(
            state.context(),
            customer.user_id,
            &campaign,
            &pool,
            count,
            key.as_str(),
        )
        .await?;
        StoredResponse::ok(json!({ "chances": granted }))
    })
    .await?;
    Ok(outcome.into_http())
}
