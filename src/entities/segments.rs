use sea_orm::entity::prelude::*;

/// A saved segment: a rule over customer attributes, tags and events. Who is in it is computed by the
/// database from the rule whenever it is asked, never stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub description: String,
    /// The rule's text, as the community manager wrote it (checked when saved).
    pub rule: String,
    /// The official-account user tag the segment was last copied to, for a mass send by tag.
    pub oa_tag_id: Option<i64>,
    pub oa_tag_synced_at: Option<DateTimeUtc>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
