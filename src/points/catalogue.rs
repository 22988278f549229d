//! The points catalogue: what a campaign's points buy. A redemption spends the points, takes one of the item's
//! stock, counts against the customer's limit and (for a coupon) issues it, all in one transaction; the same
//! request (Idempotency-Key) redeems once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};

use super::service::{PointsChange, PointsError};
use crate::audit::{self, Actor};
use crate::calendar::{is_count_limit, Status};
use crate::campaigns::gate::{self, GateError, Scope};
use crate::entities::{campaigns, catalogue_items, redemptions};
use crate::error::{AppError, ErrorCode};
use crate::rewards::{self, Grant, Granted, Reward, RewardError, Rewards};
use crate::store::StateStore;

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such campaign or item")]
    NotFound,
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error("this item is sold out")]
    OutOfStock,
    #[error("you have redeemed this item as many times as allowed")]
    LimitReached,
    #[error("{}", crate::idempotency::KEY_REUSED)]
    KeyReused,
    #[error(transparent)]
    Points(#[from] PointsError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for RedeemError {
    fn from(error: DbErr) -> Self {
        RedeemError::Unexpected(error.into())
    }
}

impl From<RedeemError> for AppError {
    fn from(error: RedeemError) -> Self {
        let message = error.to_string();
        match error {
            RedeemError::Invalid(_) => AppError::new(ErrorCode::InvalidItem, message),
            RedeemError::NotFound => AppError::new(ErrorCode::ItemNotFound, message),
            RedeemError::Gate(e) => e.into(),
            RedeemError::OutOfStock => AppError::new(ErrorCode::OutOfStock, message),
            RedeemError::LimitReached => AppError::new(ErrorCode::RedeemLimitReached, message),
            RedeemError::KeyReused => crate::idempotency::key_reused(),
            RedeemError::Points(e) => e.into(),
            RedeemError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub slug: String,
    pub name: String,
    pub cost_points: i64,
    /// A coupon template's slug for a coupon; absent for goods.
    #[serde(default)]
    pub coupon_template: Option<String>,
    pub stock: Option<u32>,
    pub per_user_limit: Option<u32>,
}

/// Stores a checked item for `campaign` (from the staff API, or with its campaign from the calendar file).
pub async fn insert_item(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
    input: &ItemInput,
) -> Result<catalogue_items::Model, RedeemError> {
    let slug_ok = crate::calendar::is_slug(&input.slug);
    if !slug_ok || input.name.trim().is_empty() || !(1..=10_000_000).contains(&input.cost_points) {
        return Err(RedeemError::Invalid(
            "slug, name and cost_points (1-10,000,000) are required".into(),
        ));
    }
    if !is_count_limit(input.stock) || !is_count_limit(input.per_user_limit) {
        return Err(RedeemError::Invalid(
            "stock and per_user_limit: 1 to 10,000,000 when set".into(),
        ));
    }
    if let Some(template) = &input.coupon_template {
        let found = crate::entities::coupon_templates::Entity::find()
            .filter(crate::entities::coupon_templates::Column::Slug.eq(template.as_str()))
            .one(conn)
            .await?;
        if found.is_none() {
            return Err(RedeemError::Invalid(format!(
                "coupon_template {template} does not exist"
            )));
        }
    }
    catalogue_items::ActiveModel {
        campaign_id: Set(campaign.id),
        slug: Set(input.slug.clone()),
        name: Set(input.name.clone()),
        cost_points: Set(input.cost_points),
        kind: Set(if input.coupon_template.is_some() {
            "coupon"
        } else {
            "goods"
        }
        .into()),
        coupon_template: Set(input.coupon_template.clone()),
        stock_total: Set(input.stock.map(|s| s as i32)),
        redeemed_count: Set(0),
        per_user_limit: Set(input.per_user_limit.map(|l| l as i32)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            RedeemError::Invalid("an item with this slug exists".into())
        }
        _ => e.into(),
    })
}

async fn campaign(
    conn: &impl ConnectionTrait,
    slug: &str,
) -> Result<campaigns::Model, RedeemError> {
    gate::find_campaign(conn, slug)
        .await?
        .ok_or(RedeemError::NotFound)
}

pub async fn create_item(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign_slug: &str,
    input: &ItemInput,
) -> Result<catalogue_items::Model, RedeemError> {
    let txn = crate::db::begin_write(db).await?;
    let campaign = campaign(&txn, campaign_slug).await?;
    let item = insert_item(&txn, &campaign, input).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new(
            "catalogue.create",
            "catalogue_item",
            format!("{campaign_slug}/{}", item.slug),
        )
        .after(&item),
    )
    .await?;
    txn.commit().await?;
    Ok(item)
}

/// The catalogue as customers see it, with what is left.
pub async fn items(
    db: &DatabaseConnection,
    campaign_slug: &str,
) -> Result<Vec<catalogue_items::Model>, RedeemError> {
    let campaign = campaign(db, campaign_slug).await?;
    if campaign.status == Status::Draft.as_str() {
        return Err(RedeemError::NotFound);
    }
    Ok(catalogue_items::Entity::find()
        .filter(catalogue_items::Column::CampaignId.eq(campaign.id))
        .order_by_asc(catalogue_items::Column::CostPoints)
        .all(db)
        .await?)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Redeemed {
    pub redemption_id: i64,
    pub item: String,
    pub cost_points: i64,
    pub balance_after: i64,
    pub coupon_code: Option<String>,
}

/// Redeems `item_slug` for the customer's points, once per `request_key`.
pub async fn redeem(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    user_id: i64,
    campaign_slug: &str,
    item_slug: &str,
    request_key: &str,
    now: DateTime<Utc>,
) -> Result<Redeemed, RedeemError> {
    let source_ref = format!("redeem:{user_id}:{request_key}");
    let txn = crate::db::begin_write(db).await?;
    let campaign = campaign(&txn, campaign_slug).await?;
    let item = catalogue_items::Entity::find()
        .filter(catalogue_items::Column::CampaignId.eq(campaign.id))
        .filter(catalogue_items::Column::Slug.eq(item_slug))
        .one(&txn)
        .await?
        .ok_or(RedeemError::NotFound)?;
    if let Some(done) = redemptions::Entity::find()
        .filter(redemptions::Column::SourceRef.eq(source_ref.as_str()))
        .one(&txn)
        .await?
    {
        // The redemption row is the durable record of the key: another item is another request.
        if done.item_id != item.id {
            return Err(RedeemError::KeyReused);
        }
        let entry = crate::entities::points_ledger::Entity::find_by_id(done.points_entry_id)
            .one(&txn)
            .await?;
        return Ok(Redeemed {
            redemption_id: done.id,
            item: item.slug,
            cost_points: item.cost_points,
            balance_after: entry.map(|e| e.balance_after).unwrap_or_default(),
            coupon_code: done.coupon_code,
        });
    }
    gate::check(&txn, store, &campaign, Scope::Campaign, now).await?;
    // Taking one of the stock locks the item row: per-user counts below cannot race.
    let taken = catalogue_items::Entity::update_many()
        .col_expr(
            catalogue_items::Column::RedeemedCount,
            Expr::col(catalogue_items::Column::RedeemedCount).add(1),
        )
        .filter(catalogue_items::Column::Id.eq(item.id))
        .filter(
            sea_orm::Condition::any()
                .add(catalogue_items::Column::StockTotal.is_null())
                .add(
                    Expr::col(catalogue_items::Column::RedeemedCount)
                        .lt(Expr::col(catalogue_items::Column::StockTotal)),
                ),
        )
        .exec(&txn)
        .await?;
    if taken.rows_affected == 0 {
        return Err(RedeemError::OutOfStock);
    }
    if let Some(limit) = item.per_user_limit {
        let already = redemptions::Entity::find()
            .filter(redemptions::Column::ItemId.eq(item.id))
            .filter(redemptions::Column::UserId.eq(user_id))
            .count(&txn)
            .await?;
        if already >= limit as u64 {
            return Err(RedeemError::LimitReached);
        }
    }
    let spend = PointsChange {
        user_id,
        delta: -item.cost_points,
        reason: "redeem",
        source_ref: &source_ref,
        campaign: Some(&campaign.slug),
    };
    let (entry, _) = rewards::spend_points(&txn, &spend, now).await?;
    let mut rewards = Rewards::new(now);
    let coupon_code = match &item.coupon_template {
        Some(template) => {
            let coupon = Grant {
                user_id,
                source_ref: &source_ref,
                reward: Reward::Coupon { template },
            };
            let granted = rewards.grant(&txn, &coupon).await.map_err(|e| match e {
                RewardError::CouponsSoldOut => RedeemError::OutOfStock,
                RewardError::CouponLimitReached => RedeemError::LimitReached,
                other => {
                    RedeemError::Unexpected(anyhow::Error::new(other).context("issuing the coupon"))
                }
            })?;
            match granted {
                Granted::Coupon(coupon) => Some(coupon.code),
                _ => None,
            }
        }
        None => None,
    };
    let redemption = redemptions::ActiveModel {
        item_id: Set(item.id),
        user_id: Set(user_id),
        source_ref: Set(source_ref),
        points_entry_id: Set(entry.id),
        coupon_code: Set(coupon_code.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    rewards.after_commit(store).await;
    Ok(Redeemed {
        redemption_id: redemption.id,
        item: item.slug,
        cost_points: item.cost_points,
        balance_after: entry.balance_after,
        coupon_code,
    })
}
