use sea_orm::entity::prelude::*;

/// A customer's invite code, made on first need, and the official-account QR code that carries it (cached
/// until it expires, so WeChat is asked once per inviter and month, not per request).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referral_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    #[sea_orm(unique)]
    pub code: String,
    /// The QR code's content URL (`QR_STR_SCENE`, scene `inv_<code>`).
    pub qr_url: Option<String>,
    pub qr_expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
