use sea_orm::entity::prelude::*;

/// A triggered journey: when its trigger fires for a customer (and its condition holds), after its delay, its
/// push's message; once per customer and step.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "journeys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// `{"kind": "coupon_expiring", "days": 3}` ...
    pub trigger: Json,
    /// A segment rule the customer must also meet.
    pub condition: Option<String>,
    pub delay_minutes: i32,
    /// The push (no segment) holding the channel, variants and quiet-hours rule.
    pub push_id: i64,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
