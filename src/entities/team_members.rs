use sea_orm::entity::prelude::*;

/// A taken seat. The database refuses a second holder of a seat, a seat past the team's size, and a second
/// seat in one activity while the first team is open or complete.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "team_members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub team_id: i64,
    pub activity_id: i64,
    pub user_id: i64,
    /// 1 is the leader's.
    pub seat: i32,
    /// The team's size, copied so the database can check the seat.
    pub team_size: i32,
    /// The activity while the team is open or complete; NULL once it expired, which frees the customer to join
    /// or make another team.
    pub active_activity_id: Option<i64>,
    pub joined_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
