use sea_orm::entity::prelude::*;

/// A poster a customer made: its share code, what it says, and its image (by content hash).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "posters")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The share page is `/h5/posters/{code}`.
    #[sea_orm(unique)]
    pub code: String,
    pub user_id: i64,
    pub campaign_id: i64,
    pub activity_id: i64,
    /// The customer's text, as checked by WeChat's content check and drawn.
    pub text: String,
    pub content_hash: String,
    /// The `Idempotency-Key` that made it: a retry finds it.
    pub request_key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
