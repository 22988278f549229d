//! When customers were first seen and last active: where a new-customer plan starts, and what keeps a
//! customer out of the dormant tier.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use crate::entities::users;

/// When the customer was first seen (their first login or follow): where a new-customer plan starts.
pub async fn first_seen(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: i64,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(users::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .map(|user| user.created_at))
}

/// The customers first seen in `[from, to)`, by id: who a new-customer plan reaches on a given day.
pub async fn first_seen_between(
    conn: &impl sea_orm::ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, DateTime<Utc>)>, DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::CreatedAt)
        .filter(users::Column::CreatedAt.gte(from))
        .filter(users::Column::CreatedAt.lt(to))
        .filter(users::Column::DisabledAt.is_null())
        .order_by_asc(users::Column::Id)
        .into_tuple()
        .all(conn)
        .await
}

/// Marks the customer active at `now` (what the dormant tier reads), at most one write an hour: a page view
/// every few seconds must not rewrite the row each time.
pub async fn touch_active(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(
            users::Column::LastActiveAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(users::Column::Id.eq(user_id))
        .filter(users::Column::LastActiveAt.lt(now - chrono::Duration::hours(1)))
        .exec(conn)
        .await?;
    Ok(())
}
