use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // What customers did, written by each domain in the transaction that did it: the source tasks, segments
        // and journeys read. One row per (kind, source): a retry or a second instance records nothing twice.
        manager
            .create_table(
                Table::create()
                    .table(CustomerEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CustomerEvents::Id))
                    .col(big_integer(CustomerEvents::UserId))
                    .col(string_len(CustomerEvents::Kind, 32))
                    .col(string_len(CustomerEvents::SourceRef, 160))
                    .col(big_integer_null(CustomerEvents::CampaignId))
                    .col(big_integer_null(CustomerEvents::ActivityId))
                    .col(timestamp_with_time_zone(CustomerEvents::OccurredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_customer_events_source")
                    .table(CustomerEvents::Table)
                    .col(CustomerEvents::Kind)
                    .col(CustomerEvents::SourceRef)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_customer_events_user")
                    .table(CustomerEvents::Table)
                    .col(CustomerEvents::UserId)
                    .col(CustomerEvents::Kind)
                    .col(CustomerEvents::OccurredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CustomerEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CustomerEvents {
    Table,
    Id,
    UserId,
    Kind,
    SourceRef,
    CampaignId,
    ActivityId,
    OccurredAt,
}
