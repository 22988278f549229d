use sea_orm::entity::prelude::*;

/// One redemption of points for a catalogue item, recorded once per source reference.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "redemptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub item_id: i64,
    pub user_id: i64,
    #[sea_orm(unique)]
    pub source_ref: String,
    pub points_entry_id: i64,
    pub coupon_code: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
