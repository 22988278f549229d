use sea_orm::entity::prelude::*;

/// A team of a team activity: its leader made it, others join by its share code until every seat is taken.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "teams")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What the leader shares: `/teams/{code}`.
    #[sea_orm(unique)]
    pub code: String,
    pub campaign_id: i64,
    pub activity_id: i64,
    pub leader_id: i64,
    /// Seats, the leader's included.
    pub size: i32,
    /// open, complete or expired
    pub status: String,
    pub created_at: DateTimeUtc,
    /// An open team past this expires (its consolation, if any, is paid).
    pub expires_at: DateTimeUtc,
    /// When it completed or expired.
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
