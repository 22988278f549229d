use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The bank's asset tier of the customer, as its CRM last exported it (NULL: not in any export yet).
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(string_len_null(Users::AssetTier, 32))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(Users::AssetTierAt))
                    .to_owned(),
            )
            .await?;
        // Labels on a customer ("房贷客户", "代发工资") from the CRM export: one row per (customer, tag).
        manager
            .create_table(
                Table::create()
                    .table(CustomerTags::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CustomerTags::Id))
                    .col(big_integer(CustomerTags::UserId))
                    .col(string_len(CustomerTags::Tag, 32))
                    .col(timestamp_with_time_zone(CustomerTags::TaggedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_customer_tags_user_tag")
                    .table(CustomerTags::Table)
                    .col(CustomerTags::UserId)
                    .col(CustomerTags::Tag)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_customer_tags_tag")
                    .table(CustomerTags::Table)
                    .col(CustomerTags::Tag)
                    .col(CustomerTags::UserId)
                    .to_owned(),
            )
            .await?;
        // What customers looked at in the mini-program and H5 pages, reported by the page, timed by the server,
        // kept for `behaviour.retention_days`.
        manager
            .create_table(
                Table::create()
                    .table(BehaviourEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(BehaviourEvents::Id))
                    .col(big_integer(BehaviourEvents::UserId))
                    .col(string_len(BehaviourEvents::Kind, 16))
                    .col(string_len_null(BehaviourEvents::Page, 64))
                    .col(string_len_null(BehaviourEvents::Category, 32))
                    .col(string_len_null(BehaviourEvents::Content, 64))
                    .col(big_integer_null(BehaviourEvents::CampaignId))
                    .col(timestamp_with_time_zone(BehaviourEvents::OccurredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_behaviour_events_user")
                    .table(BehaviourEvents::Table)
                    .col(BehaviourEvents::UserId)
                    .col(BehaviourEvents::Kind)
                    .col(BehaviourEvents::OccurredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_behaviour_events_time")
                    .table(BehaviourEvents::Table)
                    .col(BehaviourEvents::OccurredAt)
                    .to_owned(),
            )
            .await?;
        // A community manager's saved rule; membership is computed from it by the database when asked.
        manager
            .create_table(
                Table::create()
                    .table(Segments::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Segments::Id))
                    .col(string_len_uniq(Segments::Slug, 64))
                    .col(string_len(Segments::Name, 64))
                    .col(text(Segments::Description))
                    .col(text(Segments::Rule))
                    .col(big_integer_null(Segments::OaTagId))
                    .col(timestamp_with_time_zone_null(Segments::OaTagSyncedAt))
                    .col(string_len(Segments::CreatedBy, 64))
                    .col(timestamp_with_time_zone(Segments::CreatedAt))
                    .col(timestamp_with_time_zone(Segments::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Segments::Table.into_iden(),
            BehaviourEvents::Table.into_iden(),
            CustomerTags::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [Users::AssetTier, Users::AssetTierAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    AssetTier,
    AssetTierAt,
}

#[derive(DeriveIden)]
enum CustomerTags {
    Table,
    Id,
    UserId,
    Tag,
    TaggedAt,
}

#[derive(DeriveIden)]
enum BehaviourEvents {
    Table,
    Id,
    UserId,
    Kind,
    Page,
    Category,
    Content,
    CampaignId,
    OccurredAt,
}

#[derive(DeriveIden)]
enum Segments {
    Table,
    Id,
    Slug,
    Name,
    Description,
    Rule,
    OaTagId,
    OaTagSyncedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}
