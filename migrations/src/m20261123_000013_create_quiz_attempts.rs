use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per attempt, written when it starts (the daily limit and the one-active rule count these
        // rows) and finished once, by a conditional update, when its last answer is judged.
        manager
            .create_table(
                Table::create()
                    .table(QuizAttempts::Table)
                    .if_not_exists()
                    .col(string_len(QuizAttempts::Id, 32).primary_key())
                    .col(big_integer(QuizAttempts::UserId))
                    .col(big_integer(QuizAttempts::CampaignId))
                    .col(big_integer(QuizAttempts::ActivityId))
                    .col(integer(QuizAttempts::Level))
                    .col(string_len(QuizAttempts::Status, 16))
                    .col(string_len(QuizAttempts::Day, 10))
                    .col(json(QuizAttempts::Questions))
                    .col(timestamp_with_time_zone(QuizAttempts::StartedAt))
                    .col(timestamp_with_time_zone(QuizAttempts::ExpiresAt))
                    .col(timestamp_with_time_zone_null(QuizAttempts::FinishedAt))
                    .col(integer_null(QuizAttempts::Score))
                    .col(big_integer_null(QuizAttempts::TotalMs))
                    .col(boolean(QuizAttempts::Flagged).default(false))
                    .col(json_null(QuizAttempts::Answers))
                    .col(integer(QuizAttempts::PointsGranted).default(0))
                    .col(integer(QuizAttempts::ChancesGranted).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(QuizAttempts::Table, QuizAttempts::ActivityId)
                            .to(Activities::Table, Activities::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_quiz_attempts_user_level")
                    .table(QuizAttempts::Table)
                    .col(QuizAttempts::UserId)
                    .col(QuizAttempts::ActivityId)
                    .col(QuizAttempts::Level)
                    .col(QuizAttempts::Day)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_quiz_attempts_campaign_status")
                    .table(QuizAttempts::Table)
                    .col(QuizAttempts::CampaignId)
                    .col(QuizAttempts::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(QuizAttempts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum QuizAttempts {
    Table,
    Id,
    UserId,
    CampaignId,
    ActivityId,
    Level,
    Status,
    Day,
    Questions,
    StartedAt,
    ExpiresAt,
    FinishedAt,
    Score,
    TotalMs,
    Flagged,
    Answers,
    PointsGranted,
    ChancesGranted,
}

#[derive(DeriveIden)]
enum Activities {
    Table,
    Id,
}
