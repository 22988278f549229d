use sea_orm::entity::prelude::*;

/// An operator-configured passive reply: the subscribe welcome, a keyword rule, or a menu CLICK key.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "auto_reply_rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `subscribe`, `keyword` or `click`.
    pub trigger: String,
    /// `exact` or `contains` for keywords; `exact` otherwise.
    pub match_type: String,
    /// The keyword or menu key; empty for `subscribe`.
    pub pattern: String,
    /// Higher wins.
    pub priority: i32,
    /// A `wechat::message::Reply`.
    pub reply: Json,
    pub enabled: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
