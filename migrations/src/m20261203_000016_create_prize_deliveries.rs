use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One delivery per won physical prize: the unique draw id makes a second address submission impossible,
        // whatever raced. Name, phone and address are stored encrypted, like phone numbers on users.
        manager
            .create_table(
                Table::create()
                    .table(PrizeDeliveries::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PrizeDeliveries::Id))
                    .col(big_integer_uniq(PrizeDeliveries::DrawId))
                    .col(big_integer(PrizeDeliveries::UserId))
                    .col(text(PrizeDeliveries::RecipientEnc))
                    .col(text(PrizeDeliveries::PhoneEnc))
                    .col(text(PrizeDeliveries::AddressEnc))
                    .col(string_len(PrizeDeliveries::Status, 16))
                    .col(string_len_null(PrizeDeliveries::Carrier, 32))
                    .col(string_len_null(PrizeDeliveries::TrackingNumber, 64))
                    .col(timestamp_with_time_zone(PrizeDeliveries::SubmittedAt))
                    .col(timestamp_with_time_zone_null(PrizeDeliveries::ShippedAt))
                    .col(string_len_null(PrizeDeliveries::ShippedBy, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PrizeDeliveries::Table, PrizeDeliveries::DrawId)
                            .to(DrawRecords::Table, DrawRecords::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_prize_deliveries_status")
                    .table(PrizeDeliveries::Table)
                    .col(PrizeDeliveries::Status)
                    .col(PrizeDeliveries::DrawId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PrizeDeliveries::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PrizeDeliveries {
    Table,
    Id,
    DrawId,
    UserId,
    RecipientEnc,
    PhoneEnc,
    AddressEnc,
    Status,
    Carrier,
    TrackingNumber,
    SubmittedAt,
    ShippedAt,
    ShippedBy,
}

#[derive(DeriveIden)]
enum DrawRecords {
    Table,
    Id,
}
