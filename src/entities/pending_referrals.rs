use sea_orm::entity::prelude::*;

/// A first follow through an invite code, waiting for its follower's unionid before it is credited.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pending_referrals")]
pub struct Model {
    /// The follower's (official-account) user row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub referee_id: i64,
    pub code: String,
    pub followed_at: DateTimeUtc,
    /// Times WeChat could not be asked; past the limit the follow is credited as it is.
    pub attempts: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
