use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per person: the mini-program and official-account openids are linked by unionid when WeChat gives it.
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Users::Id))
                    .col(string_len_null(Users::Unionid, 64).unique_key())
                    .col(string_len_null(Users::MpOpenid, 64).unique_key())
                    .col(string_len_null(Users::OaOpenid, 64).unique_key())
                    .col(boolean(Users::OaFollowing).default(false))
                    .col(timestamp_with_time_zone_null(Users::FollowedAt))
                    .col(timestamp_with_time_zone_null(Users::UnfollowedAt))
                    .col(string_len_null(Users::PhoneMasked, 32))
                    .col(text_null(Users::PhoneEncrypted))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::LastActiveAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Unionid,
    MpOpenid,
    OaOpenid,
    OaFollowing,
    FollowedAt,
    UnfollowedAt,
    PhoneMasked,
    PhoneEncrypted,
    CreatedAt,
    LastActiveAt,
}
