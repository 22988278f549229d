use sea_orm::entity::prelude::*;

/// One prize of a pool: what the odds page publishes is exactly what the draw reads.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "prizes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pool_id: i64,
    pub slug: String,
    pub name: String,
    /// 1 is the top tier.
    pub tier: i32,
    /// coupon, points, physical or thanks
    pub kind: String,
    pub value_fen: i64,
    pub points: i64,
    /// Odds in basis points (of 10,000).
    pub weight_bp: i32,
    pub stock_total: Option<i32>,
    pub per_user_total: Option<i32>,
    pub per_user_daily: Option<i32>,
    pub position: i32,
    /// For a coupon prize: the template of the coupon it issues.
    pub coupon_template: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
