use sea_orm::entity::prelude::*;

/// Where a won physical prize goes: submitted once by its winner, shipped once by fulfilment staff. The
/// recipient's name, phone and address are stored encrypted (`users::phone::PhoneCipher`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "prize_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub draw_id: i64,
    pub user_id: i64,
    pub recipient_enc: String,
    pub phone_enc: String,
    pub address_enc: String,
    /// submitted or shipped
    pub status: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub submitted_at: DateTimeUtc,
    pub shipped_at: Option<DateTimeUtc>,
    /// The staff account that marked it shipped.
    pub shipped_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
