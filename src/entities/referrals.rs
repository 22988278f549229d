use sea_orm::entity::prelude::*;

/// A credited referral: the referee counts for one inviter, once, ever (unique referee; never oneself).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referrals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub referee_id: i64,
    pub inviter_id: i64,
    /// mini_program (first login through a shared path) or official_account (first follow by the QR code)
    pub channel: String,
    /// The referral activity that was open when it was credited, if any: its milestones count it.
    pub activity_id: Option<i64>,
    pub credited_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
