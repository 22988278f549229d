use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogueItems::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CatalogueItems::Id))
                    .col(big_integer(CatalogueItems::CampaignId))
                    .col(string_len(CatalogueItems::Slug, 64))
                    .col(string_len(CatalogueItems::Name, 128))
                    .col(big_integer(CatalogueItems::CostPoints))
                    .col(string_len(CatalogueItems::Kind, 16))
                    .col(string_len_null(CatalogueItems::CouponTemplate, 64))
                    .col(integer_null(CatalogueItems::StockTotal))
                    .col(integer(CatalogueItems::RedeemedCount))
                    .col(integer_null(CatalogueItems::PerUserLimit))
                    .col(timestamp_with_time_zone(CatalogueItems::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_catalogue_items_campaign_slug")
                    .table(CatalogueItems::Table)
                    .col(CatalogueItems::CampaignId)
                    .col(CatalogueItems::Slug)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Redemptions::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Redemptions::Id))
                    .col(big_integer(Redemptions::ItemId))
                    .col(big_integer(Redemptions::UserId))
                    .col(string_len_uniq(Redemptions::SourceRef, 128))
                    .col(big_integer(Redemptions::PointsEntryId))
                    .col(string_len_null(Redemptions::CouponCode, 32))
                    .col(timestamp_with_time_zone(Redemptions::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_redemptions_item_user")
                    .table(Redemptions::Table)
                    .col(Redemptions::ItemId)
                    .col(Redemptions::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Redemptions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CatalogueItems::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CatalogueItems {
    Table,
    Id,
    CampaignId,
    Slug,
    Name,
    CostPoints,
    Kind,
    CouponTemplate,
    StockTotal,
    RedeemedCount,
    PerUserLimit,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Redemptions {
    Table,
    Id,
    ItemId,
    UserId,
    SourceRef,
    PointsEntryId,
    CouponCode,
    CreatedAt,
}
