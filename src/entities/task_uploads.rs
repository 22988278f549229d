use sea_orm::entity::prelude::*;

/// An image a customer uploaded for an upload task, in staff's review queue until decided.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_uploads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub campaign_id: i64,
    pub activity_id: i64,
    pub task_id: String,
    pub content_type: String,
    pub image: Vec<u8>,
    pub sha256: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// `<user>:<activity>:<task>` while pending or approved: one such upload per customer and task.
    pub open_key: Option<String>,
    pub submitted_at: DateTimeUtc,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
