use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::service::{self, AddressInput, DeliveryQuery, ShipmentInput};
use crate::auth::{Customer, Role, Staff};
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::http::{no_store, ValidJson};
use crate::state::AppState;
use crate::users::phone::PhoneCipher;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/prizes", web::get().to(list_my_prizes))
        .route(
            "/me/prizes/{draw_id}/address",
            web::post().to(submit_address),
        );
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/deliveries", web::get().to(list_deliveries))
        .route("/deliveries/export", web::get().to(export_deliveries))
        .route("/deliveries/{id}/ship", web::post().to(ship_delivery));
}

/// The caller's wins, newest first, each with its fulfilment state (and, for a physical prize, its delivery).
#[utoipa::path(
    get,
    path = "/api/v1/me/prizes",
    tag = "fulfilment",
    responses(
        (status = 200, description = "the caller's prizes, newest first", body = crate::fulfilment::service::MyPrizes),
    ),
    security(("customer" = []))
)]
async fn list_my_prizes(
    state: web::Data<AppState>,
    cipher: web::Data<PhoneCipher>,
    customer: Customer,
) -> Result<HttpResponse, AppError> {
    let prizes = service::my_prizes(&state.db, &cipher, customer.user_id).await?;
    Ok(HttpResponse::Ok().insert_header(no_store()).json(prizes))
}

/// Where the caller's physical prize goes: submitted once, stored encrypted.
#[utoipa::path(
    post,
    path = "/api/v1/me/prizes/{draw_id}/address",
    tag = "fulfilment",
    params(("draw_id" = i64, Path, description = "the winning draw")),
    request_body = AddressInput,
    responses(
        (status = 201, description = "the prize's fulfilment", body = crate::fulfilment::service::Fulfilment),
        (status = 400, description = "invalid_address", body = ErrorBody),
        (status = 404, description = "prize_not_found", body = ErrorBody),
        (status = 409, description = "prize_not_physical, address_already_submitted", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn submit_address(
    state: web::Data<AppState>,
    cipher: web::Data<PhoneCipher>,
    customer: Customer,
    draw_id: web::Path<i64>,
    body: ValidJson<AddressInput>,
) -> Result<HttpResponse, AppError> {
    let fulfilment = service::submit_address(
        &state.db,
        &cipher,
        customer.user_id,
        draw_id.into_inner(),
        &body,
        state.now(),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(no_store())
        .json(fulfilment))
}

/// Every physical prize won and where its delivery stands, oldest first; names, phones and addresses masked.
#[utoipa::path(
    get,
    path = "/admin/v1/deliveries",
    tag = "fulfilment",
    params(DeliveryQuery),
    responses(
        (status = 200, description = "a page of deliveries", body = crate::fulfilment::service::DeliveryPage),
    ),
    security(("staff" = []))
)]
async fn list_deliveries(
    state: web::Data<AppState>,
    cipher: web::Data<PhoneCipher>,
    staff: Staff,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Fulfilment, Role::Operator, Role::Auditor])?;
    let page = service::list_deliveries(&state.db, &cipher, &query).await?;
    Ok(HttpResponse::Ok().insert_header(no_store()).json(page))
}

/// The addresses still to ship, in full, as CSV (UTF-8 with a byte-order mark): the fulfilment role (and admin,
/// who holds every role), and every export is audited.
#[utoipa::path(
    get,
    path = "/admin/v1/deliveries/export",
    tag = "fulfilment",
    responses(
        (status = 200, description = "text/csv: delivery_id, draw_id, campaign, prize, recipient, phone, address, submitted_at", content_type = "text/csv", body = String),
    ),
    security(("staff" = []))
)]
async fn export_deliveries(
    state: web::Data<AppState>,
    cipher: web::Data<PhoneCipher>,
    staff: Staff,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Fulfilment)?;
    let csv = service::export_csv(&state.db, &cipher, &staff.actor()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"deliveries.csv\"",
        ))
        .body(csv))
}

/// Marks a delivery shipped with its carrier and tracking number (once; audited).
#[utoipa::path(
    post,
    path = "/admin/v1/deliveries/{id}/ship",
    tag = "fulfilment",
    params(("id" = i64, Path, description = "the delivery")),
    request_body = ShipmentInput,
    responses(
        (status = 200, description = "the delivery, masked", body = crate::fulfilment::service::DeliveryView),
        (status = 400, description = "invalid_shipment", body = ErrorBody),
        (status = 404, description = "delivery_not_found", body = ErrorBody),
        (status = 409, description = "already_shipped", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn ship_delivery(
    state: web::Data<AppState>,
    cipher: web::Data<PhoneCipher>,
    staff: Staff,
    id: web::Path<i64>,
    body: ValidJson<ShipmentInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Fulfilment)?;
    let delivery = service::ship(
        &state.db,
        &cipher,
        &staff.actor(),
        id.into_inner(),
        &body,
        state.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().insert_header(no_store()).json(delivery))
}
