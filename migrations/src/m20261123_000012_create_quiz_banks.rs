use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(QuizBanks::Table)
                    .if_not_exists()
                    .col(big_pk_auto(QuizBanks::Id))
                    .col(string_len_uniq(QuizBanks::Slug, 64))
                    .col(string_len(QuizBanks::Name, 128))
                    .col(timestamp_with_time_zone(QuizBanks::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Options and the correct answer are stored together; nothing that serves a customer may send the
        // answer before the question is answered.
        manager
            .create_table(
                Table::create()
                    .table(QuizQuestions::Table)
                    .if_not_exists()
                    .col(big_pk_auto(QuizQuestions::Id))
                    .col(big_integer(QuizQuestions::BankId))
                    .col(string_len(QuizQuestions::Kind, 16))
                    .col(text(QuizQuestions::Stem))
                    .col(json(QuizQuestions::Options))
                    .col(json(QuizQuestions::Correct))
                    .col(text(QuizQuestions::Explanation))
                    .col(json(QuizQuestions::Tags))
                    .col(small_integer(QuizQuestions::Difficulty))
                    .col(timestamp_with_time_zone(QuizQuestions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(QuizQuestions::Table, QuizQuestions::BankId)
                            .to(QuizBanks::Table, QuizBanks::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_quiz_questions_bank")
                    .table(QuizQuestions::Table)
                    .col(QuizQuestions::BankId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(QuizQuestions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(QuizBanks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum QuizBanks {
    Table,
    Id,
    Slug,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum QuizQuestions {
    Table,
    Id,
    BankId,
    Kind,
    Stem,
    Options,
    Correct,
    Explanation,
    Tags,
    Difficulty,
    CreatedAt,
}
