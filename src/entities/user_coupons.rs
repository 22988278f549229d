use sea_orm::entity::prelude::*;

/// One coupon held by a customer, issued once per source reference.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "user_coupons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub template_id: i64,
    pub user_id: i64,
    /// What the customer shows at the counter.
    #[sea_orm(unique)]
    pub code: String,
    /// active, used, expired
    pub status: String,
    #[sea_orm(unique)]
    pub source_ref: String,
    pub issued_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    /// The staff account that marked it used.
    pub used_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
