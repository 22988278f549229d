use sea_orm::entity::prelude::*;

/// A prize pool (lottery or blind box) of a campaign.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "prize_pools")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub slug: String,
    pub name: String,
    /// lottery or blind_box
    pub kind: String,
    pub daily_free_chances: i32,
    pub guarantee_after: Option<i32>,
    pub guarantee_tier: Option<i32>,
    /// Slug of the prize given when nothing else is left.
    pub consolation_prize: Option<String>,
    pub created_at: DateTimeUtc,
    /// Chances one user may be granted per Asia/Shanghai day, and in all.
    pub chance_daily_cap: Option<i32>,
    pub chance_total_cap: Option<i32>,
    /// Points one chance costs in an exchange (none: chances are not for sale).
    pub chance_cost_points: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
