use sea_orm::entity::prelude::*;

/// One thing a customer did (passed a quiz level, completed a team, brought in a friend ...), recorded once by
/// the domain where it happened, in the same transaction.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// `outbox::EventKind` as text.
    pub kind: String,
    /// What happened, named by its domain (`team:<team>`, `coupon:<code>`): once per kind.
    pub source_ref: String,
    pub campaign_id: Option<i64>,
    pub activity_id: Option<i64>,
    pub occurred_at: DateTimeUtc,
    /// What it was about, for matching: a quiz level, a coupon template, a content id, a check-in day.
    pub subject: Option<String>,
    /// When the task engine paid what this event completed; `None` until then.
    pub tasks_settled_at: Option<DateTimeUtc>,
    /// When a settlement that failed or had to wait is tried again; `None`: at the next pass.
    pub tasks_retry_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
