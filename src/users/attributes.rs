//! What a segment may ask of a customer's own record: the activity tier, the asset tier, labels, follow state,
//! a bound phone, days since first seen and since last active. Each is a condition the database evaluates over
//! `users`, so a segment of a million customers is counted and listed by SQL, never loaded here. Segments write
//! the rule; this file is the one place that knows the columns.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;

use crate::entities::{customer_tags, users};
use crate::telemetry::mask_openid;

/// A customer's activity tier, by the clock: new (first seen within `new_days`), dormant (not active for
/// `dormant_days`), else active. New comes first: a customer is never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    New,
    Active,
    Dormant,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::New, Tier::Active, Tier::Dormant];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::New => "new",
            Tier::Active => "active",
            Tier::Dormant => "dormant",
        }
    }

    pub fn parse(text: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|tier| tier.as_str() == text)
    }
}

/// Where the tiers' lines fall at one instant.
#[derive(Debug, Clone, Copy)]
pub struct TierClock {
    /// First seen at or after this: new.
    pub new_since: DateTime<Utc>,
    /// Last active before this (and not new): dormant.
    pub dormant_before: DateTime<Utc>,
}

impl TierClock {
    pub fn at(now: DateTime<Utc>, new_days: u32, dormant_days: u32) -> Self {
        Self {
            new_since: now - Duration::days(i64::from(new_days)),
            dormant_before: now - Duration::days(i64::from(dormant_days)),
        }
    }

    fn of(&self, user: &users::Model) -> Tier {
        if user.created_at >= self.new_since {
            Tier::New
        } else if user.last_active_at < self.dormant_before {
            Tier::Dormant
        } else {
            Tier::Active
        }
    }

    /// The customers of `tier`.
    pub fn is(&self, tier: Tier) -> Condition {
        let new = users::Column::CreatedAt.gte(self.new_since);
        let old = users::Column::CreatedAt.lt(self.new_since);
        match tier {
            Tier::New => Condition::all().add(new),
            Tier::Dormant => Condition::all()
                .add(old)
                .add(users::Column::LastActiveAt.lt(self.dormant_before)),
            Tier::Active => Condition::all()
                .add(old)
                .add(users::Column::LastActiveAt.gte(self.dormant_before)),
        }
    }
}

/// Customers whose asset tier is one of `tiers`.
pub fn asset_tier_in(tiers: &[String]) -> Condition {
    // Never NULL itself, so that `not asset_tier = "gold"` takes in the customers with no tier yet.
    Condition::all()
        .add(users::Column::AssetTier.is_not_null())
        .add(users::Column::AssetTier.is_in(tiers.iter().cloned()))
}

pub fn following(yes: bool) -> Condition {
    Condition::all().add(users::Column::OaFollowing.eq(yes))
}

pub fn phone_bound(yes: bool) -> Condition {
    let column = users::Column::PhoneEncrypted;
    Condition::all().add(if yes {
        column.is_not_null()
    } else {
        column.is_null()
    })
}

/// First seen at or before `at` (`true`), or after it (`false`).
pub fn first_seen_by(by: bool, at: DateTime<Utc>) -> Condition {
    let column = users::Column::CreatedAt;
    Condition::all().add(if by { column.lte(at) } else { column.gt(at) })
}

/// Last active at or before `at` (`true`), or after it (`false`).
pub fn last_active_by(by: bool, at: DateTime<Utc>) -> Condition {
    let column = users::Column::LastActiveAt;
    Condition::all().add(if by { column.lte(at) } else { column.gt(at) })
}

/// Customers labelled `tag` by the CRM export.
pub fn tagged(tag: &str) -> Condition {
    let labelled = Query::select()
        .column(customer_tags::Column::UserId)
        .from(customer_tags::Entity)
        .and_where(customer_tags::Column::Tag.eq(tag))
        .to_owned();
    Condition::all().add(users::Column::Id.in_subquery(labelled))
}

/// Customers whose id is among what `user_ids` (a subquery of one `user_id` column) selects.
pub fn id_in(user_ids: sea_orm::sea_query::SelectStatement) -> Condition {
    Condition::all().add(users::Column::Id.in_subquery(user_ids))
}

/// Customers whose id is not among what `user_ids` selects.
pub fn id_not_in(user_ids: sea_orm::sea_query::SelectStatement) -> Condition {
    Condition::all().add(users::Column::Id.not_in_subquery(user_ids))
}

/// Enabled customers only: a blocked account is in no segment.
fn members_of(condition: Condition) -> sea_orm::Select<users::Entity> {
    users::Entity::find()
        .filter(users::Column::DisabledAt.is_null())
        .filter(condition)
}

/// How many enabled customers meet `condition`.
pub async fn count(conn: &impl ConnectionTrait, condition: Condition) -> Result<u64, DbErr> {
    members_of(condition).count(conn).await
}

/// Up to `limit` enabled customers meeting `condition` with ids above `after`, in id order: a segment read a
/// page at a time, each page one indexed query.
pub async fn member_ids(
    conn: &impl ConnectionTrait,
    condition: Condition,
    after: i64,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    members_of(condition)
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::Id.gt(after))
        .order_by_asc(users::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// A customer as a segment's preview shows them to staff: nothing that names the person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MaskedCustomer {
    pub user_id: i64,
    /// `oAbc…xyz9`: the official-account openid if known, else the mini-program's.
    pub openid: Option<String>,
    /// `138****5678`.
    pub phone: Option<String>,
    pub tier: Tier,
    pub asset_tier: Option<String>,
    pub follows_official_account: bool,
}

/// The first `limit` customers meeting `condition`, masked.
pub async fn sample(
    conn: &impl ConnectionTrait,
    condition: Condition,
    tiers: TierClock,
    limit: u64,
) -> Result<Vec<MaskedCustomer>, DbErr> {
    let found = members_of(condition)
        .order_by_asc(users::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|user| MaskedCustomer {
            user_id: user.id,
            openid: user
                .oa_openid
                .as_deref()
                .or(user.mp_openid.as_deref())
                .map(mask_openid),
            phone: user.phone_masked.clone(),
            tier: tiers.of(&user),
            asset_tier: user.asset_tier.clone(),
            follows_official_account: user.oa_following,
        })
        .collect())
}

/// Enabled customers last active before `before` and meeting `condition`, with that time, ids above `after`,
/// in id order: who a "dormant" journey wakes up.
pub async fn inactive_since(
    conn: &impl ConnectionTrait,
    before: chrono::DateTime<chrono::Utc>,
    condition: Condition,
    after: i64,
    limit: u64,
) -> Result<Vec<(i64, chrono::DateTime<chrono::Utc>)>, DbErr> {
    // `condition` whole, whatever its own `or` or `not`: added to, it would take the addition in.
    let condition = Condition::all()
        .add(condition)
        .add(users::Column::LastActiveAt.lt(before));
    members_of(condition)
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::LastActiveAt)
        .filter(users::Column::Id.gt(after))
        .order_by_asc(users::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// Customers for whom `reached(their id, when they were last active)` (a subquery correlated on both)
/// finds nothing: those not yet reached since they were last active.
pub fn not_reached_since_active(
    reached: impl FnOnce(
        sea_orm::sea_query::SimpleExpr,
        sea_orm::sea_query::SimpleExpr,
    ) -> sea_orm::sea_query::SelectStatement,
) -> Condition {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let found = reached(
        Expr::col((users::Entity, users::Column::Id)),
        Expr::col((users::Entity, users::Column::LastActiveAt)),
    );
    Condition::all().add(Expr::exists(found).not())
}

/// The ids of the enabled customers meeting `condition`, as a subquery (for another domain's search).
pub fn ids_meeting(condition: Condition) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::Query;
    Query::select()
        .column(users::Column::Id)
        .from(users::Entity)
        .and_where(users::Column::DisabledAt.is_null())
        .cond_where(condition)
        .to_owned()
}

/// The customers among `ids`.
pub fn among(ids: &[i64]) -> Condition {
    Condition::all().add(users::Column::Id.is_in(ids.iter().copied()))
}
