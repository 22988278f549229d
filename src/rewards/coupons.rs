//! Coupons, issued once per source reference within the template's total and per-customer limits.

use chrono::{DateTime, Duration, Utc};
use rand::distr::{Alphanumeric, SampleString};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use super::RewardError;
use crate::entities::{coupon_templates, user_coupons};

/// Whether a coupon was issued under `source_ref` already.
pub(super) async fn issued_under(
    conn: &impl ConnectionTrait,
    source_ref: &str,
) -> Result<bool, RewardError> {
    Ok(user_coupons::Entity::find()
        .filter(user_coupons::Column::SourceRef.eq(source_ref))
        .count(conn)
        .await?
        > 0)
}

/// Issues one coupon of `template_slug` to `user_id` on the caller's transaction; the same source reference
/// returns the coupon it issued the first time. Per-user and total limits hold under concurrency: the template
/// row is updated (and so locked) before the user's coupons are counted.
pub(super) async fn issue(
    conn: &impl ConnectionTrait,
    template_slug: &str,
    user_id: i64,
    source_ref: &str,
    now: DateTime<Utc>,
) -> Result<user_coupons::Model, RewardError> {
    if let Some(existing) = user_coupons::Entity::find()
        .filter(user_coupons::Column::SourceRef.eq(source_ref))
        .one(conn)
        .await?
    {
        return Ok(existing);
    }
    let template = coupon_templates::Entity::find()
        .filter(coupon_templates::Column::Slug.eq(template_slug))
        .one(conn)
        .await?
        .ok_or(RewardError::CouponTemplateNotFound)?;
    let counted = coupon_templates::Entity::update_many()
        .col_expr(
            coupon_templates::Column::IssuedCount,
            Expr::col(coupon_templates::Column::IssuedCount).add(1),
        )
        .filter(coupon_templates::Column::Id.eq(template.id))
        .filter(
            sea_orm::Condition::any()
                .add(coupon_templates::Column::TotalLimit.is_null())
                .add(
                    Expr::col(coupon_templates::Column::IssuedCount)
                        .lt(Expr::col(coupon_templates::Column::TotalLimit)),
                ),
        )
        .exec(conn)
        .await?;
    if counted.rows_affected == 0 {
        return Err(RewardError::CouponsSoldOut);
    }
    if let Some(limit) = template.per_user_limit {
        let held = user_coupons::Entity::find()
            .filter(user_coupons::Column::TemplateId.eq(template.id))
            .filter(user_coupons::Column::UserId.eq(user_id))
            .count(conn)
            .await?;
        if held >= limit as u64 {
            return Err(RewardError::CouponLimitReached);
        }
    }
    let expires_at = match (template.valid_until, template.valid_days) {
        (Some(until), _) => until,
        (None, Some(days)) => now + Duration::days(i64::from(days)),
        (None, None) => now + Duration::days(30),
    };
    // Drawn before the insert: the thread's generator must not be held across an await (the future would not
    // be Send, and a job could not run it).
    let code = Alphanumeric
        .sample_string(&mut rand::rng(), 12)
        .to_uppercase();
    Ok(user_coupons::ActiveModel {
        template_id: Set(template.id),
        user_id: Set(user_id),
        code: Set(code),
        status: Set("active".into()),
        source_ref: Set(source_ref.to_owned()),
        issued_at: Set(now),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}
