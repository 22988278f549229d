use sea_orm::entity::prelude::*;

/// A quarterly campaign of the yearly calendar. `status` follows time (draft until scheduled); `paused` is the
/// staff circuit breaker, independent of it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub theme: String,
    pub year: i32,
    pub quarter: i16,
    pub preheat_at: DateTimeUtc,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// draft, scheduled, preheat, live, ended
    pub status: String,
    pub paused: bool,
    pub paused_reason: Option<String>,
    pub rules_text: String,
    /// The published prizes and odds, as customers read them before taking part.
    pub prize_summary: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
