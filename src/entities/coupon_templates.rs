use sea_orm::entity::prelude::*;

/// A kind of coupon: its value, its validity, and how many may be issued.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "coupon_templates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub value_fen: i64,
    pub min_spend_fen: i64,
    /// Valid for this many days after issue, or until `valid_until`, whichever is given.
    pub valid_days: Option<i32>,
    pub valid_until: Option<DateTimeUtc>,
    pub per_user_limit: Option<i32>,
    pub total_limit: Option<i32>,
    pub issued_count: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
