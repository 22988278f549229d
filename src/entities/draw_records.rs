use sea_orm::entity::prelude::*;

/// One draw, recorded once per request id and never changed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "draw_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub request_id: String,
    pub user_id: i64,
    pub pool_id: i64,
    pub prize_id: i64,
    pub tier: i32,
    pub guaranteed: bool,
    /// The Asia/Shanghai date of the draw.
    pub day: String,
    /// For a stocked prize, which unit of its stock (1..=stock) this draw took: unique per prize.
    pub stock_seq: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
