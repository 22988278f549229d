use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A rendered poster is kept once per content (template, text, QR content): the same card made again,
        // by anyone, is the same image.
        manager
            .create_table(
                Table::create()
                    .table(PosterImages::Table)
                    .if_not_exists()
                    .col(string_len(PosterImages::ContentHash, 64).primary_key())
                    .col(blob(PosterImages::Png))
                    .col(timestamp_with_time_zone(PosterImages::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Posters::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Posters::Id))
                    .col(string_len_uniq(Posters::Code, 16))
                    .col(big_integer(Posters::UserId))
                    .col(big_integer(Posters::CampaignId))
                    .col(big_integer(Posters::ActivityId))
                    .col(text(Posters::Text))
                    .col(string_len(Posters::ContentHash, 64))
                    .col(string_len(Posters::RequestKey, 80))
                    .col(timestamp_with_time_zone(Posters::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Posters::Table, Posters::ContentHash)
                            .to(PosterImages::Table, PosterImages::ContentHash),
                    )
                    .to_owned(),
            )
            .await?;
        // One poster per request: a retried request (its Idempotency-Key) finds the poster it made.
        manager
            .create_index(
                Index::create()
                    .name("uq_posters_request")
                    .table(Posters::Table)
                    .col(Posters::UserId)
                    .col(Posters::RequestKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Posters::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PosterImages::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Posters {
    Table,
    Id,
    Code,
    UserId,
    CampaignId,
    ActivityId,
    Text,
    ContentHash,
    RequestKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PosterImages {
    Table,
    ContentHash,
    Png,
    CreatedAt,
}
