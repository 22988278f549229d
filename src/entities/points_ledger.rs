use sea_orm::entity::prelude::*;

/// One grant (delta > 0) or spend (delta < 0), recorded once per `source_ref`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_ledger")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub delta: i64,
    /// The campaign multiplier applied (100 = none; 200 during a double-points week).
    pub factor_percent: i32,
    pub reason: String,
    #[sea_orm(unique)]
    pub source_ref: String,
    pub campaign_slug: Option<String>,
    pub balance_after: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
