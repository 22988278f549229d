use sea_orm::entity::prelude::*;

/// Draw chances granted to a user for a pool, once per source reference.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "chance_grants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub pool_id: i64,
    /// daily_free, quiz_passed, poster_shared, team_completed, points_exchange ...
    pub source: String,
    #[sea_orm(unique)]
    pub source_ref: String,
    pub amount: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
