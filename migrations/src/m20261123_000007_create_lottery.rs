use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PrizePools::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PrizePools::Id))
                    .col(big_integer(PrizePools::CampaignId))
                    .col(string_len(PrizePools::Slug, 64))
                    .col(string_len(PrizePools::Name, 128))
                    .col(string_len(PrizePools::Kind, 16))
                    .col(integer(PrizePools::DailyFreeChances))
                    .col(integer_null(PrizePools::GuaranteeAfter))
                    .col(integer_null(PrizePools::GuaranteeTier))
                    .col(string_len_null(PrizePools::ConsolationPrize, 64))
                    .col(timestamp_with_time_zone(PrizePools::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PrizePools::Table, PrizePools::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_prize_pools_campaign_slug")
                    .table(PrizePools::Table)
                    .col(PrizePools::CampaignId)
                    .col(PrizePools::Slug)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The published odds are these rows: the odds page and the draw read the same table.
        manager
            .create_table(
                Table::create()
                    .table(Prizes::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Prizes::Id))
                    .col(big_integer(Prizes::PoolId))
                    .col(string_len(Prizes::Slug, 64))
                    .col(string_len(Prizes::Name, 128))
                    .col(integer(Prizes::Tier))
                    .col(string_len(Prizes::Kind, 16))
                    .col(big_integer(Prizes::ValueFen))
                    .col(big_integer(Prizes::Points))
                    .col(integer(Prizes::WeightBp))
                    .col(integer_null(Prizes::StockTotal))
                    .col(integer_null(Prizes::PerUserTotal))
                    .col(integer_null(Prizes::PerUserDaily))
                    .col(integer(Prizes::Position))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Prizes::Table, Prizes::PoolId)
                            .to(PrizePools::Table, PrizePools::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChanceGrants::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ChanceGrants::Id))
                    .col(big_integer(ChanceGrants::UserId))
                    .col(big_integer(ChanceGrants::PoolId))
                    .col(string_len(ChanceGrants::Source, 32))
                    .col(string_len_uniq(ChanceGrants::SourceRef, 128))
                    .col(integer(ChanceGrants::Amount))
                    .col(timestamp_with_time_zone(ChanceGrants::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Immutable record of every draw, once per request id.
        manager
            .create_table(
                Table::create()
                    .table(DrawRecords::Table)
                    .if_not_exists()
                    .col(big_pk_auto(DrawRecords::Id))
                    .col(string_len_uniq(DrawRecords::RequestId, 64))
                    .col(big_integer(DrawRecords::UserId))
                    .col(big_integer(DrawRecords::PoolId))
                    .col(big_integer(DrawRecords::PrizeId))
                    .col(integer(DrawRecords::Tier))
                    .col(boolean(DrawRecords::Guaranteed))
                    .col(string_len(DrawRecords::Day, 10))
                    .col(timestamp_with_time_zone(DrawRecords::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_draw_records_pool_prize")
                    .table(DrawRecords::Table)
                    .col(DrawRecords::PoolId)
                    .col(DrawRecords::PrizeId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_draw_records_user")
                    .table(DrawRecords::Table)
                    .col(DrawRecords::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DrawRecords::Table.into_iden(),
            ChanceGrants::Table.into_iden(),
            Prizes::Table.into_iden(),
            PrizePools::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PrizePools {
    Table,
    Id,
    CampaignId,
    Slug,
    Name,
    Kind,
    DailyFreeChances,
    GuaranteeAfter,
    GuaranteeTier,
    ConsolationPrize,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Prizes {
    Table,
    Id,
    PoolId,
    Slug,
    Name,
    Tier,
    Kind,
    ValueFen,
    Points,
    WeightBp,
    StockTotal,
    PerUserTotal,
    PerUserDaily,
    Position,
}

#[derive(DeriveIden)]
enum ChanceGrants {
    Table,
    Id,
    UserId,
    PoolId,
    Source,
    SourceRef,
    Amount,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DrawRecords {
    Table,
    Id,
    RequestId,
    UserId,
    PoolId,
    PrizeId,
    Tier,
    Guaranteed,
    Day,
    CreatedAt,
}
