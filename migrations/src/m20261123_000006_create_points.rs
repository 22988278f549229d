use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The balance a customer sees; only ever changed together with a ledger row, in one transaction.
        manager
            .create_table(
                Table::create()
                    .table(PointsAccounts::Table)
                    .if_not_exists()
                    .col(big_integer(PointsAccounts::UserId).primary_key())
                    .col(big_integer(PointsAccounts::Balance))
                    .col(timestamp_with_time_zone(PointsAccounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Append-only: every grant and spend, once per source reference.
        manager
            .create_table(
                Table::create()
                    .table(PointsLedger::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PointsLedger::Id))
                    .col(big_integer(PointsLedger::UserId))
                    .col(big_integer(PointsLedger::Delta))
                    .col(integer(PointsLedger::FactorPercent))
                    .col(string_len(PointsLedger::Reason, 64))
                    .col(string_len_uniq(PointsLedger::SourceRef, 128))
                    .col(string_len_null(PointsLedger::CampaignSlug, 64))
                    .col(big_integer(PointsLedger::BalanceAfter))
                    .col(timestamp_with_time_zone(PointsLedger::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_points_ledger_user")
                    .table(PointsLedger::Table)
                    .col(PointsLedger::UserId)
                    .col(PointsLedger::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PointsLedger::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PointsAccounts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PointsAccounts {
    Table,
    UserId,
    Balance,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PointsLedger {
    Table,
    Id,
    UserId,
    Delta,
    FactorPercent,
    Reason,
    SourceRef,
    CampaignSlug,
    BalanceAfter,
    CreatedAt,
}
