use sea_orm::entity::prelude::*;

/// One play of a quiz level: started (active), then passed, failed or expired; `lost` when the store lost it
/// mid-play (not counted against the daily limit).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "quiz_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: i64,
    pub campaign_id: i64,
    pub activity_id: i64,
    /// 1-based, in the activity's level order.
    pub level: i32,
    /// active, passed, failed, expired, lost
    pub status: String,
    /// The Asia/Shanghai date it started on: what the daily limit counts.
    pub day: String,
    /// `[{"id": 12, "options": ["C", "A", "D", "B"]}, ...]`: each question and its options in the order shown.
    pub questions: Json,
    pub started_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// Correct answers.
    pub score: Option<i32>,
    /// Time spent answering, in milliseconds.
    pub total_ms: Option<i64>,
    /// Some answer came faster than a person reads: kept off the leaderboard.
    pub flagged: bool,
    /// How each answer was judged.
    pub answers: Option<Json>,
    pub points_granted: i32,
    pub chances_granted: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
