use sea_orm::entity::prelude::*;

/// One customer's message of a push (or of a journey's step): at most one per (push, customer, step).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "push_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub push_id: i64,
    pub user_id: i64,
    /// Empty for a segment push; a journey step's key otherwise.
    pub step: String,
    pub variant: String,
    /// What this customer's message says, rendered when it was queued.
    pub fields: Json,
    /// queued, held, sending, sent, failed, skipped
    pub status: String,
    /// Why it was skipped or held (a limit's name), or what failed.
    pub reason: Option<String>,
    pub errcode: Option<i32>,
    /// WeChat's msgid, which TEMPLATESENDJOBFINISH reports on.
    pub msg_id: Option<String>,
    pub attempts: i32,
    pub queued_at: DateTimeUtc,
    /// Held until then (quiet hours, a rate or quota backoff).
    pub not_before: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    pub reported_at: Option<DateTimeUtc>,
    /// WeChat's job report: `success`, `failed:user block`, `failed:system failed`.
    pub report: Option<String>,
    /// When this delivery spent its limits (and consent): the windows follow from it. Cleared when they are
    /// given back; set, a retry does not spend again.
    pub spent_at: Option<DateTimeUtc>,
    /// When a mass delivery's customer was put in the push's tag: a later batch takes them out again.
    pub tagged_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
