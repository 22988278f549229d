use sea_orm::entity::prelude::*;

/// One inbound official-account message or event, recorded once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "wechat_inbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// sha256 of WeChat's retry key (MsgId + FromUserName + CreateTime, or the event form).
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub openid: String,
    pub msg_type: String,
    pub event: Option<String>,
    pub event_key: Option<String>,
    pub msg_id: Option<String>,
    /// The auto-reply rule that answered, if any.
    pub reply_rule_id: Option<i64>,
    /// WeChat's CreateTime.
    pub sent_at: DateTimeUtc,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
