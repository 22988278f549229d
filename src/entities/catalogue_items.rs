use sea_orm::entity::prelude::*;

/// Something a campaign's points buy: a coupon or goods, with stock and a per-user limit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "catalogue_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub slug: String,
    pub name: String,
    pub cost_points: i64,
    /// coupon or goods
    pub kind: String,
    pub coupon_template: Option<String>,
    pub stock_total: Option<i32>,
    pub redeemed_count: i32,
    pub per_user_limit: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
