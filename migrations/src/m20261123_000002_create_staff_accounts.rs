use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StaffAccounts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(StaffAccounts::Id))
                    .col(string_len_uniq(StaffAccounts::Username, 64))
                    .col(string_len(StaffAccounts::PasswordHash, 255))
                    .col(string_len(StaffAccounts::Role, 32))
                    .col(boolean(StaffAccounts::Disabled).default(false))
                    .col(timestamp_with_time_zone(StaffAccounts::CreatedAt))
                    .col(timestamp_with_time_zone_null(StaffAccounts::LastLoginAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StaffAccounts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum StaffAccounts {
    Table,
    Id,
    Username,
    PasswordHash,
    Role,
    Disabled,
    CreatedAt,
    LastLoginAt,
}
