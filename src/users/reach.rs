//! How a push reaches a customer: their openids, follow state and whether they asked for no campaign
//! messages.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use crate::entities::users;

/// Where a push can reach a customer, and whether it may.
#[derive(Debug, Clone)]
pub struct PushTarget {
    pub user_id: i64,
    pub mp_openid: Option<String>,
    pub oa_openid: Option<String>,
    pub following: bool,
    pub opted_out: bool,
    pub disabled: bool,
}

/// The push targets of `user_ids` (in no order; an unknown id is left out).
pub async fn push_targets(
    conn: &impl sea_orm::ConnectionTrait,
    user_ids: &[i64],
) -> Result<Vec<PushTarget>, DbErr> {
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(user_ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|user| PushTarget {
            user_id: user.id,
            mp_openid: user.mp_openid,
            oa_openid: user.oa_openid,
            following: user.oa_following,
            opted_out: user.push_opted_out_at.is_some(),
            disabled: user.disabled_at.is_some(),
        })
        .collect())
}

/// The customer asks for no campaign messages (`true`), or for them again.
pub async fn set_push_opt_out(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: i64,
    opted_out: bool,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(
            users::Column::PushOptedOutAt,
            sea_orm::sea_query::Expr::value(opted_out.then_some(now)),
        )
        .filter(users::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The user whose official-account openid is `openid`.
pub async fn by_oa_openid(
    conn: &impl sea_orm::ConnectionTrait,
    openid: &str,
) -> Result<Option<i64>, DbErr> {
    Ok(users::Entity::find()
        .filter(users::Column::OaOpenid.eq(openid))
        .one(conn)
        .await?
        .map(|user| user.id))
}
