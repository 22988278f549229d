//! The staff side of physical prizes: a masked list of every win and its delivery, the fulfilment role's CSV
//! export of addresses to ship (in full, audited), and marking a delivery shipped with its tracking number
//! (once, audited).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::mine::deliveries_of;
use super::model::{
    state_of, view, DeliveryView, FulfilmentError, FulfilmentState, Reader, ShipmentInput, SHIPPED,
    SUBMITTED,
};
use crate::audit::{self, Actor};
use crate::entities::prize_deliveries;
use crate::lottery::service::{self as lottery, Win};
use crate::users::phone::PhoneCipher;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only wins in this state (awaiting_address, address_submitted, shipped).
    pub state: Option<FulfilmentState>,
    /// Wins after this draw id (the previous page's `next_after`). With `state` address_submitted or shipped a
    /// page holds only those; otherwise a page of physical wins, filtered, may hold fewer than `limit`.
    pub after_id: Option<i64>,
    /// 1 to 200, 50 by default.
    pub limit: Option<u64>,
}

/// A physical prize won, as staff see it: the delivery masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffDelivery {
    pub user_id: i64,
    #[serde(flatten)]
    pub win: Win,
    pub state: FulfilmentState,
    pub delivery: Option<DeliveryView>,
}

/// A page of physical wins, oldest first; `next_after` is set while more may follow.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    pub deliveries: Vec<StaffDelivery>,
    pub next_after: Option<i64>,
}

pub async fn list_deliveries(
    db: &DatabaseConnection,
    cipher: &PhoneCipher,
    query: &DeliveryQuery,
) -> Result<DeliveryPage, FulfilmentError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let after = query.after_id.unwrap_or(0);
    // A state a delivery row has is paged over those rows, so a page is never short; every other listing
    // pages over the physical wins (awaiting_address is filtered from them).
    let by_delivery = match query.state {
        Some(FulfilmentState::AddressSubmitted) => Some(SUBMITTED),
        Some(FulfilmentState::Shipped) => Some(SHIPPED),
        _ => None,
    };
    let (wins, next_after) = match by_delivery {
        Some(status) => {
            let rows = prize_deliveries::Entity::find()
                .filter(prize_deliveries::Column::Status.eq(status))
                .filter(prize_deliveries::Column::DrawId.gt(after))
                .order_by_asc(prize_deliveries::Column::DrawId)
                .limit(limit)
                .all(db)
                .await?;
            let draw_ids: Vec<i64> = rows.iter().map(|d| d.draw_id).collect();
            let full = rows.len() as u64 == limit;
            (
                lottery::wins_by_id(db, &draw_ids).await?,
                full.then(|| draw_ids.last().copied()).flatten(),
            )
        }
        None => {
            let wins = lottery::physical_wins(db, after, limit).await?;
            let full = wins.len() as u64 == limit;
            let last = wins.last().map(|w| w.draw_id);
            (wins, full.then_some(last).flatten())
        }
    };
    let deliveries = deliveries_of(db, &wins).await?;
    let mut page = Vec::with_capacity(wins.len());
    for win in wins {
        let delivery = deliveries.get(&win.draw_id);
        let state = state_of(&win, delivery);
        if query.state.is_some_and(|wanted| wanted != state) {
            continue;
        }
        page.push(StaffDelivery {
            user_id: win.user_id,
            state,
            delivery: delivery
                .map(|d| view(cipher, d, Reader::Staff))
                .transpose()?,
            win,
        });
    }
    Ok(DeliveryPage {
        deliveries: page,
        next_after,
    })
}

/// The most rows one export holds; ship them, and the next export holds the rest.
const EXPORT_LIMIT: u64 = 5000;

/// The addresses still to ship, oldest win first, as CSV for the carrier's label printer: in full, so the export
/// itself is audited (who, when, how many rows).
pub async fn export_csv(
    db: &DatabaseConnection,
    cipher: &PhoneCipher,
    actor: &Actor,
) -> Result<String, FulfilmentError> {
    let deliveries = prize_deliveries::Entity::find()
        .filter(prize_deliveries::Column::Status.eq(SUBMITTED))
        .order_by_asc(prize_deliveries::Column::DrawId)
        .limit(EXPORT_LIMIT)
        .all(db)
        .await?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    let header = [
        "delivery_id",
        "draw_id",
        "campaign",
        "prize",
        "recipient",
        "phone",
        "address",
        "submitted_at",
    ];
    csv.write_record(header).map_err(anyhow::Error::from)?;
    let draw_ids: Vec<i64> = deliveries.iter().map(|d| d.draw_id).collect();
    let wins: HashMap<i64, Win> = lottery::wins_by_id(db, &draw_ids)
        .await?
        .into_iter()
        .map(|win| (win.draw_id, win))
        .collect();
    for delivery in &deliveries {
        let win = wins
            .get(&delivery.draw_id)
            .ok_or_else(|| anyhow::anyhow!("delivery {} names no won prize", delivery.id))?;
        let full = view(cipher, delivery, Reader::Fulfilment)?;
        let row = [
            full.delivery_id.to_string(),
            win.draw_id.to_string(),
            win.campaign_name.clone(),
            win.prize.name.clone(),
            full.recipient,
            full.phone,
            full.address,
            full.submitted_at.to_rfc3339(),
        ];
        csv.write_record(row.iter().map(|cell| inert(cell)))
            .map_err(anyhow::Error::from)?;
    }
    let bytes = csv.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    let text = String::from_utf8(bytes).map_err(anyhow::Error::from)?;
    audit::record(
        db,
        actor,
        audit::Entry::new("delivery.export", "prize_delivery", "to_ship".into()).after(&json!({
            "rows": deliveries.len(),
            "deliveries": deliveries.iter().map(|d| d.id).collect::<Vec<_>>(),
        })),
    )
    .await?;
    // A byte-order mark, so spreadsheet programs read the Chinese text as UTF-8.
    Ok(format!("\u{feff}{text}"))
}

/// A cell a spreadsheet shows as text, never runs as a formula (a customer typed it).
fn inert(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// Marks a delivery shipped with its carrier and tracking number: once; the winner sees it at once.
pub async fn ship(
    db: &DatabaseConnection,
    cipher: &PhoneCipher,
    actor: &Actor,
    delivery_id: i64,
    input: &ShipmentInput,
    now: DateTime<Utc>,
) -> Result<DeliveryView, FulfilmentError> {
    let (carrier, tracking_number) = input.checked()?;
    let txn = crate::db::begin_write(db).await?;
    let before = prize_deliveries::Entity::find_by_id(delivery_id)
        .one(&txn)
        .await?
        .ok_or(FulfilmentError::DeliveryNotFound)?;
    // Only from "submitted": two staff shipping the same parcel at once record one shipment.
    let updated = prize_deliveries::Entity::update_many()
        .col_expr(prize_deliveries::Column::Status, Expr::value(SHIPPED))
        .col_expr(
            prize_deliveries::Column::Carrier,
            Expr::value(carrier.clone()),
        )
        .col_expr(
            prize_deliveries::Column::TrackingNumber,
            Expr::value(tracking_number.clone()),
        )
        .col_expr(prize_deliveries::Column::ShippedAt, Expr::value(now))
        .col_expr(
            prize_deliveries::Column::ShippedBy,
            Expr::value(actor.label.clone()),
        )
        .filter(prize_deliveries::Column::Id.eq(delivery_id))
        .filter(prize_deliveries::Column::Status.eq(SUBMITTED))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(FulfilmentError::AlreadyShipped);
    }
    let after = prize_deliveries::Entity::find_by_id(delivery_id)
        .one(&txn)
        .await?
        .ok_or(FulfilmentError::DeliveryNotFound)?;
    // The audit holds the shipment, never the address.
    audit::record(
        &txn,
        actor,
        audit::Entry::new("delivery.ship", "prize_delivery", delivery_id.to_string())
            .before(&json!({ "status": before.status }))
            .after(&json!({
                "status": after.status,
                "carrier": carrier,
                "tracking_number": tracking_number,
            })),
    )
    .await?;
    txn.commit().await?;
    view(cipher, &after, Reader::Staff)
}
