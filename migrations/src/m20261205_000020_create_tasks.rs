use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // What an event was about (a quiz level, a coupon template, a content id, a check-in day), so a task can
        // match it without parsing its source; and when the task engine settled it (NULL: still to settle).
        manager
            .alter_table(
                Table::alter()
                    .table(CustomerEvents::Table)
                    .add_column(string_len_null(CustomerEvents::Subject, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CustomerEvents::Table)
                    .add_column(timestamp_with_time_zone_null(
                        CustomerEvents::TasksSettledAt,
                    ))
                    .to_owned(),
            )
            .await?;
        // A settlement that failed or must wait (a paused campaign) is tried again from this time, so one
        // customer's trouble never holds up everyone else's.
        manager
            .alter_table(
                Table::alter()
                    .table(CustomerEvents::Table)
                    .add_column(timestamp_with_time_zone_null(CustomerEvents::TasksRetryAt))
                    .to_owned(),
            )
            .await?;
        // Events recorded before tasks existed have nothing to pay.
        manager
            .exec_stmt(
                Query::update()
                    .table(CustomerEvents::Table)
                    .value(
                        CustomerEvents::TasksSettledAt,
                        Expr::col(CustomerEvents::OccurredAt),
                    )
                    .and_where(Expr::col(CustomerEvents::TasksSettledAt).is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_customer_events_unsettled")
                    .table(CustomerEvents::Table)
                    .col(CustomerEvents::TasksSettledAt)
                    .col(CustomerEvents::Id)
                    .to_owned(),
            )
            .await?;
        // A form task's answers (a monthly budget, a savings goal): one row per customer and task, shown back.
        manager
            .create_table(
                Table::create()
                    .table(TaskForms::Table)
                    .if_not_exists()
                    .col(big_pk_auto(TaskForms::Id))
                    .col(big_integer(TaskForms::UserId))
                    .col(big_integer(TaskForms::ActivityId))
                    .col(string_len(TaskForms::TaskId, 64))
                    .col(json(TaskForms::Answers))
                    .col(timestamp_with_time_zone(TaskForms::SubmittedAt))
                    .col(timestamp_with_time_zone(TaskForms::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_task_forms_owner")
                    .table(TaskForms::Table)
                    .col(TaskForms::UserId)
                    .col(TaskForms::ActivityId)
                    .col(TaskForms::TaskId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // An upload task's image, waiting for staff or decided. `open_key` is set while the upload is pending or
        // approved, so the database refuses a second one for the same customer and task; a rejected upload
        // clears it, and the customer may try again.
        manager
            .create_table(
                Table::create()
                    .table(TaskUploads::Table)
                    .if_not_exists()
                    .col(big_pk_auto(TaskUploads::Id))
                    .col(big_integer(TaskUploads::UserId))
                    .col(big_integer(TaskUploads::CampaignId))
                    .col(big_integer(TaskUploads::ActivityId))
                    .col(string_len(TaskUploads::TaskId, 64))
                    .col(string_len(TaskUploads::ContentType, 32))
                    .col(blob(TaskUploads::Image))
                    .col(string_len(TaskUploads::Sha256, 64))
                    .col(string_len(TaskUploads::Status, 16))
                    .col(string_len_null(TaskUploads::OpenKey, 96))
                    .col(timestamp_with_time_zone(TaskUploads::SubmittedAt))
                    .col(big_integer_null(TaskUploads::DecidedBy))
                    .col(timestamp_with_time_zone_null(TaskUploads::DecidedAt))
                    .col(string_len_null(TaskUploads::Reason, 200))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_task_uploads_open")
                    .table(TaskUploads::Table)
                    .col(TaskUploads::OpenKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_task_uploads_queue")
                    .table(TaskUploads::Table)
                    .col(TaskUploads::Status)
                    .col(TaskUploads::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TaskUploads::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(TaskForms::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_customer_events_unsettled")
                    .table(CustomerEvents::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            CustomerEvents::TasksRetryAt,
            CustomerEvents::TasksSettledAt,
            CustomerEvents::Subject,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CustomerEvents::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum CustomerEvents {
    Table,
    Id,
    Subject,
    TasksSettledAt,
    TasksRetryAt,
    OccurredAt,
}

#[derive(DeriveIden)]
enum TaskForms {
    Table,
    Id,
    UserId,
    ActivityId,
    TaskId,
    Answers,
    SubmittedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TaskUploads {
    Table,
    Id,
    UserId,
    CampaignId,
    ActivityId,
    TaskId,
    ContentType,
    Image,
    Sha256,
    Status,
    OpenKey,
    SubmittedAt,
    DecidedBy,
    DecidedAt,
    Reason,
}
