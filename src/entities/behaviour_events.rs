use sea_orm::entity::prelude::*;

/// A page or a piece of content a customer looked at, as the mini-program or an H5 page reported it, at the
/// server's time of receipt. Kept for `behaviour.retention_days`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "behaviour_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// `page_view` or `content_view`.
    pub kind: String,
    pub page: Option<String>,
    /// One of `behaviour.content_categories`.
    pub category: Option<String>,
    pub content: Option<String>,
    pub campaign_id: Option<i64>,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
