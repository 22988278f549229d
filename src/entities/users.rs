use sea_orm::entity::prelude::*;

/// One person: the mini-program and official-account openids are linked by unionid when WeChat provides it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub unionid: Option<String>,
    #[sea_orm(unique)]
    pub mp_openid: Option<String>,
    #[sea_orm(unique)]
    pub oa_openid: Option<String>,
    pub oa_following: bool,
    pub followed_at: Option<DateTimeUtc>,
    pub unfollowed_at: Option<DateTimeUtc>,
    /// `138****5678`: all that staff screens and logs ever see.
    pub phone_masked: Option<String>,
    /// The full number, encrypted at rest.
    pub phone_encrypted: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_active_at: DateTimeUtc,
    /// Set while staff have blocked the account: its tokens are refused and it cannot log in.
    pub disabled_at: Option<DateTimeUtc>,
    /// The bank's asset tier from its CRM export (`users import-tiers`); `None` until an export names them.
    pub asset_tier: Option<String>,
    pub asset_tier_at: Option<DateTimeUtc>,
    /// Set while the customer has asked for no campaign messages.
    pub push_opted_out_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
