use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Campaigns::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Campaigns::Id))
                    .col(string_len_uniq(Campaigns::Slug, 64))
                    .col(string_len(Campaigns::Name, 128))
                    .col(string_len(Campaigns::Theme, 256))
                    .col(integer(Campaigns::Year))
                    .col(small_integer(Campaigns::Quarter))
                    .col(timestamp_with_time_zone(Campaigns::PreheatAt))
                    .col(timestamp_with_time_zone(Campaigns::StartsAt))
                    .col(timestamp_with_time_zone(Campaigns::EndsAt))
                    .col(string_len(Campaigns::Status, 16))
                    .col(boolean(Campaigns::Paused).default(false))
                    .col(text_null(Campaigns::PausedReason))
                    .col(text(Campaigns::RulesText))
                    .col(text(Campaigns::PrizeSummary))
                    .col(string_len(Campaigns::CreatedBy, 64))
                    .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Activities::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Activities::Id))
                    .col(big_integer(Activities::CampaignId))
                    .col(string_len(Activities::Slug, 64))
                    .col(string_len(Activities::Kind, 32))
                    .col(string_len(Activities::Name, 128))
                    .col(timestamp_with_time_zone(Activities::StartsAt))
                    .col(timestamp_with_time_zone(Activities::EndsAt))
                    .col(json(Activities::Config))
                    .col(integer(Activities::Position))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Activities::Table, Activities::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_activities_campaign_slug")
                    .table(Activities::Table)
                    .col(Activities::CampaignId)
                    .col(Activities::Slug)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // One row per firing of a scheduled job: the unique (job, scheduled_for) is what makes a firing happen
        // once across instances and restarts.
        manager
            .create_table(
                Table::create()
                    .table(JobRuns::Table)
                    .if_not_exists()
                    .col(big_pk_auto(JobRuns::Id))
                    .col(string_len(JobRuns::Job, 128))
                    .col(timestamp_with_time_zone(JobRuns::ScheduledFor))
                    .col(string_len(JobRuns::Status, 16))
                    .col(string_len(JobRuns::Instance, 64))
                    .col(timestamp_with_time_zone(JobRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(JobRuns::FinishedAt))
                    .col(text_null(JobRuns::Error))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_job_runs_job_scheduled_for")
                    .table(JobRuns::Table)
                    .col(JobRuns::Job)
                    .col(JobRuns::ScheduledFor)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            JobRuns::Table.into_iden(),
            Activities::Table.into_iden(),
            Campaigns::Table.into_iden(),
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
    Slug,
    Name,
    Theme,
    Year,
    Quarter,
    PreheatAt,
    StartsAt,
    EndsAt,
    Status,
    Paused,
    PausedReason,
    RulesText,
    PrizeSummary,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Activities {
    Table,
    Id,
    CampaignId,
    Slug,
    Kind,
    Name,
    StartsAt,
    EndsAt,
    Config,
    Position,
}

#[derive(DeriveIden)]
enum JobRuns {
    Table,
    Id,
    Job,
    ScheduledFor,
    Status,
    Instance,
    StartedAt,
    FinishedAt,
    Error,
}
