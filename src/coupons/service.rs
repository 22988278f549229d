use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor};
use crate::calendar::is_count_limit;
use crate::entities::{coupon_templates, user_coupons};
use crate::error::{AppError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum CouponError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such coupon or template")]
    NotFound,
    #[error("this coupon is {0} and cannot be used")]
    NotUsable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for CouponError {
    fn from(error: DbErr) -> Self {
        CouponError::Unexpected(error.into())
    }
}

impl From<CouponError> for AppError {
    fn from(error: CouponError) -> Self {
        let message = error.to_string();
        match error {
            CouponError::Invalid(_) => AppError::new(ErrorCode::InvalidCoupon, message),
            CouponError::NotFound => AppError::new(ErrorCode::CouponNotFound, message),
            CouponError::NotUsable(_) => AppError::new(ErrorCode::CouponNotUsable, message),
            CouponError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub slug: String,
    pub name: String,
    pub value_fen: i64,
    #[serde(default)]
    pub min_spend_fen: i64,
    pub valid_days: Option<u32>,
    /// RFC 3339, or `YYYY-MM-DD HH:MM` in Asia/Shanghai.
    pub valid_until: Option<String>,
    pub per_user_limit: Option<u32>,
    pub total_limit: Option<u32>,
}

/// A template valid for more than ten years is a typo.
const MAX_VALIDITY_DAYS: i64 = 3650;

/// A template's terms, checked.
struct CheckedTemplate {
    valid_until: Option<DateTime<Utc>>,
}

fn check_template(
    input: &TemplateInput,
    now: DateTime<Utc>,
) -> Result<CheckedTemplate, CouponError> {
    let invalid = |m: &str| Err(CouponError::Invalid(m.to_owned()));
    let slug_ok = crate::calendar::is_slug(&input.slug);
    if !slug_ok || input.name.trim().is_empty() {
        return invalid("slug (a-z, 0-9, '-') and name are required");
    }
    if !(1..=5_000_000).contains(&input.value_fen)
        || !(0..=100_000_000).contains(&input.min_spend_fen)
    {
        return invalid("value_fen: 1 to 5,000,000 (50,000 yuan); min_spend_fen: 0 to 100,000,000");
    }
    if !is_count_limit(input.per_user_limit) || !is_count_limit(input.total_limit) {
        return invalid("per_user_limit and total_limit: 1 to 10,000,000");
    }
    let valid_until = match &input.valid_until {
        Some(text) => Some(
            crate::calendar::parse_time(text)
                .ok_or_else(|| CouponError::Invalid("valid_until: not a time".into()))?,
        ),
        None => None,
    };
    if input.valid_days.is_some() == valid_until.is_some()
        || input.valid_days.is_some_and(|d| !(1..=3650).contains(&d))
    {
        return invalid("give exactly one of valid_days (1-3650) and valid_until");
    }
    if valid_until.is_some_and(|until| {
        until <= now || until > now + chrono::Duration::days(MAX_VALIDITY_DAYS)
    }) {
        return invalid("valid_until: in the future, at most ten years ahead");
    }
    Ok(CheckedTemplate { valid_until })
}

/// Inserts a checked template and its audit record on `conn` (the caller's transaction).
async fn insert_template(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: &TemplateInput,
    checked: CheckedTemplate,
    now: DateTime<Utc>,
) -> Result<coupon_templates::Model, CouponError> {
    let template = coupon_templates::ActiveModel {
        slug: Set(input.slug.clone()),
        name: Set(input.name.clone()),
        value_fen: Set(input.value_fen),
        min_spend_fen: Set(input.min_spend_fen),
        valid_days: Set(input.valid_days.map(|d| d as i32)),
        valid_until: Set(checked.valid_until),
        per_user_limit: Set(input.per_user_limit.map(|l| l as i32)),
        total_limit: Set(input.total_limit.map(|l| l as i32)),
        issued_count: Set(0),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            CouponError::Invalid("a template with this slug exists".into())
        }
        _ => e.into(),
    })?;
    audit::record(
        conn,
        actor,
        audit::Entry::new(
            "coupon_template.create",
            "coupon_template",
            template.slug.clone(),
        )
        .after(&template),
    )
    .await?;
    Ok(template)
}

pub async fn create_template(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &TemplateInput,
    now: DateTime<Utc>,
) -> Result<coupon_templates::Model, CouponError> {
    let checked = check_template(input, now)?;
    let txn = crate::db::begin_write(db).await?;
    let template = insert_template(&txn, actor, input, checked, now).await?;
    txn.commit().await?;
    Ok(template)
}

/// What a calendar file's template did on import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    Created,
    Unchanged,
}

/// A template the calendar file names: created when missing, left alone when the same. One whose terms differ
/// is refused: coupons were issued on the stored terms, and the staff API is where a new template is made.
pub async fn ensure_template(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: &TemplateInput,
    now: DateTime<Utc>,
) -> Result<Ensured, CouponError> {
    let stored = coupon_templates::Entity::find()
        .filter(coupon_templates::Column::Slug.eq(input.slug.as_str()))
        .one(conn)
        .await?;
    let Some(stored) = stored else {
        let checked = check_template(input, now)?;
        insert_template(conn, actor, input, checked, now).await?;
        return Ok(Ensured::Created);
    };
    // Not checked against the clock: a template whose last day has passed is still the same template.
    let valid_until = match &input.valid_until {
        Some(text) => Some(
            crate::calendar::parse_time(text)
                .ok_or_else(|| CouponError::Invalid("valid_until: not a time".into()))?,
        ),
        None => None,
    };
    let same = stored.name == input.name
        && stored.value_fen == input.value_fen
        && stored.min_spend_fen == input.min_spend_fen
        && stored.valid_days == input.valid_days.map(|d| d as i32)
        && stored.valid_until == valid_until
        && stored.per_user_limit == input.per_user_limit.map(|l| l as i32)
        && stored.total_limit == input.total_limit.map(|l| l as i32);
    match same {
        true => Ok(Ensured::Unchanged),
        false => Err(CouponError::Invalid(format!(
            "template {} exists with other terms; templates are not changed by an import",
            input.slug
        ))),
    }
}

/// A coupon as its holder sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HeldCoupon {
    pub code: String,
    pub name: String,
    pub value_fen: i64,
    pub min_spend_fen: i64,
    /// active, used or expired (an active coupon past its date shows as expired before the job catches up).
    pub status: String,
    pub expires_at: String,
}

pub async fn held_by(
    db: &DatabaseConnection,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<HeldCoupon>, CouponError> {
    let coupons = user_coupons::Entity::find()
        .filter(user_coupons::Column::UserId.eq(user_id))
        .order_by_desc(user_coupons::Column::Id)
        .all(db)
        .await?;
    let mut held = Vec::new();
    for coupon in coupons {
        let template = coupon_templates::Entity::find_by_id(coupon.template_id)
            .one(db)
            .await?
            .ok_or(CouponError::NotFound)?;
        let status = if coupon.status == "active" && coupon.expires_at <= now {
            "expired".into()
        } else {
            coupon.status
        };
        held.push(HeldCoupon {
            code: coupon.code,
            name: template.name,
            value_fen: template.value_fen,
            min_spend_fen: template.min_spend_fen,
            status,
            expires_at: crate::calendar::shanghai(coupon.expires_at),
        });
    }
    Ok(held)
}

/// The counter system marks a coupon used: once, only while active and in date. Audited.
pub async fn mark_used(
    db: &DatabaseConnection,
    actor: &Actor,
    code: &str,
    now: DateTime<Utc>,
) -> Result<user_coupons::Model, CouponError> {
    let txn = crate::db::begin_write(db).await?;
    let coupon = user_coupons::Entity::find()
        .filter(user_coupons::Column::Code.eq(code.to_uppercase()))
        .one(&txn)
        .await?
        .ok_or(CouponError::NotFound)?;
    if coupon.status != "active" {
        return Err(CouponError::NotUsable(coupon.status));
    }
    if coupon.expires_at <= now {
        return Err(CouponError::NotUsable("expired".into()));
    }
    let before = coupon.clone();
    let mut active: user_coupons::ActiveModel = coupon.into();
    active.status = Set("used".into());
    active.used_at = Set(Some(now));
    active.used_by = Set(Some(actor.label.clone()));
    let after = active.update(&txn).await?;
    let template = coupon_templates::Entity::find_by_id(after.template_id)
        .one(&txn)
        .await?
        .map(|template| template.slug);
    crate::outbox::record(
        &txn,
        &crate::outbox::Event {
            user_id: after.user_id,
            kind: crate::outbox::EventKind::CouponUsed,
            source_ref: &format!("coupon:{}", after.code),
            campaign_id: None,
            activity_id: None,
            subject: template.as_deref(),
            at: now,
        },
    )
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("coupon.use", "user_coupon", after.code.clone())
            .before(&before)
            .after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Marks every active coupon past its date expired; returns how many.
pub async fn expire(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, CouponError> {
    let result = user_coupons::Entity::update_many()
        .col_expr(user_coupons::Column::Status, Expr::value("expired"))
        .filter(user_coupons::Column::Status.eq("active"))
        .filter(user_coupons::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// An active coupon that expires soon: what the "coupon expiring" journey reminds its holder of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    pub user_id: i64,
    pub code: String,
    pub name: String,
    pub expires_at: DateTime<Utc>,
}

/// The active coupons expiring in `[from, to)`, oldest first, at most `limit`.
pub async fn expiring_between(
    conn: &impl sea_orm::ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Expiring>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let coupons = user_coupons::Entity::find()
        .filter(user_coupons::Column::Status.eq("active"))
        .filter(user_coupons::Column::ExpiresAt.gte(from))
        .filter(user_coupons::Column::ExpiresAt.lt(to))
        .order_by_asc(user_coupons::Column::ExpiresAt)
        .limit(limit)
        .all(conn)
        .await?;
    let template_ids: Vec<i64> = coupons.iter().map(|c| c.template_id).collect();
    let names: std::collections::HashMap<i64, String> = coupon_templates::Entity::find()
        .filter(coupon_templates::Column::Id.is_in(template_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok(coupons
        .into_iter()
        .map(|coupon| Expiring {
            user_id: coupon.user_id,
            name: names.get(&coupon.template_id).cloned().unwrap_or_default(),
            code: coupon.code,
            expires_at: coupon.expires_at,
        })
        .collect())
}
