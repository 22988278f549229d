use sea_orm::entity::prelude::*;

/// A rendered poster, once per content (template, text and QR content hashed together).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "poster_images")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub content_hash: String,
    pub png: Vec<u8>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
