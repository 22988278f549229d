use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A customer who asked for no campaign messages (the messages page): every push skips them.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(Users::PushOptedOutAt))
                    .to_owned(),
            )
            .await?;
        // A community manager's push: a channel, its variants (template and per-customer fields), a segment,
        // a schedule; or a journey's step, which has no segment and sends as its trigger fires.
        manager
            .create_table(
                Table::create()
                    .table(Pushes::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Pushes::Id))
                    .col(string_len_uniq(Pushes::Slug, 64))
                    .col(string_len(Pushes::Name, 64))
                    .col(string_len(Pushes::Channel, 24))
                    .col(string_len_null(Pushes::SegmentSlug, 64))
                    .col(json(Pushes::Variants))
                    .col(string_len(Pushes::QuietHours, 8))
                    .col(timestamp_with_time_zone_null(Pushes::ScheduledFor))
                    .col(string_len(Pushes::Status, 16))
                    .col(big_integer_null(Pushes::MassTagId))
                    .col(string_len_null(Pushes::MassMsgId, 32))
                    .col(json_null(Pushes::MassResult))
                    .col(string_len(Pushes::CreatedBy, 64))
                    .col(timestamp_with_time_zone(Pushes::CreatedAt))
                    .col(timestamp_with_time_zone(Pushes::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Pushes::StartedAt))
                    .col(timestamp_with_time_zone_null(Pushes::FinishedAt))
                    .to_owned(),
            )
            .await?;
        // One row per (push, customer, step): at most one delivery each, whatever instance or retry. `step` is
        // empty for a segment push, the journey step's key (a plan day, a coupon) for a journey.
        manager
            .create_table(
                Table::create()
                    .table(PushDeliveries::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PushDeliveries::Id))
                    .col(big_integer(PushDeliveries::PushId))
                    .col(big_integer(PushDeliveries::UserId))
                    .col(string_len(PushDeliveries::Step, 64))
                    .col(string_len(PushDeliveries::Variant, 16))
                    .col(json(PushDeliveries::Fields))
                    .col(string_len(PushDeliveries::Status, 16))
                    .col(string_len_null(PushDeliveries::Reason, 32))
                    .col(integer_null(PushDeliveries::Errcode))
                    .col(string_len_null(PushDeliveries::MsgId, 32))
                    .col(integer(PushDeliveries::Attempts))
                    .col(timestamp_with_time_zone(PushDeliveries::QueuedAt))
                    .col(timestamp_with_time_zone_null(PushDeliveries::NotBefore))
                    .col(timestamp_with_time_zone_null(PushDeliveries::SentAt))
                    .col(timestamp_with_time_zone_null(PushDeliveries::ReportedAt))
                    .col(string_len_null(PushDeliveries::Report, 32))
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "uq_push_deliveries_once",
                vec![
                    PushDeliveries::PushId,
                    PushDeliveries::UserId,
                    PushDeliveries::Step,
                ],
                true,
            ),
            (
                "idx_push_deliveries_status",
                vec![
                    PushDeliveries::PushId,
                    PushDeliveries::Status,
                    PushDeliveries::Reason,
                ],
                false,
            ),
            (
                "idx_push_deliveries_due",
                vec![PushDeliveries::Status, PushDeliveries::NotBefore],
                false,
            ),
            (
                "idx_push_deliveries_msg",
                vec![PushDeliveries::MsgId],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(PushDeliveries::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        // Counted limits: a customer's pushes a day and a week, mass messages a month, the account's template
        // messages a day. A send spends one with a conditional increment (`used < cap`), so the database refuses
        // a send beyond any of them whatever the store says.
        manager
            .create_table(
                Table::create()
                    .table(PushCounters::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PushCounters::Id))
                    .col(string_len(PushCounters::Subject, 48))
                    .col(string_len(PushCounters::Window, 24))
                    .col(integer(PushCounters::Used))
                    .check(Expr::cust("used >= 0"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_push_counters")
                    .table(PushCounters::Table)
                    .col(PushCounters::Subject)
                    .col(PushCounters::Window)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // A triggered journey: "when TRIGGER (and CONDITION), after DELAY, send" the message of its own push
        // (a push with no segment); each step fires once per customer (the deliveries' unique key).
        manager
            .create_table(
                Table::create()
                    .table(Journeys::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Journeys::Id))
                    .col(string_len_uniq(Journeys::Slug, 64))
                    .col(string_len(Journeys::Name, 64))
                    .col(json(Journeys::Trigger))
                    .col(text_null(Journeys::Condition))
                    .col(integer(Journeys::DelayMinutes))
                    .col(big_integer(Journeys::PushId))
                    .col(boolean(Journeys::Enabled))
                    .col(string_len(Journeys::CreatedBy, 64))
                    .col(timestamp_with_time_zone(Journeys::CreatedAt))
                    .col(timestamp_with_time_zone(Journeys::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Mini-program subscribe consents: one consent allows one message of its template.
        manager
            .create_table(
                Table::create()
                    .table(SubscribeConsents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SubscribeConsents::Id))
                    .col(big_integer(SubscribeConsents::UserId))
                    .col(string_len(SubscribeConsents::TemplateId, 64))
                    .col(integer(SubscribeConsents::Remaining))
                    .col(timestamp_with_time_zone(SubscribeConsents::UpdatedAt))
                    .check(Expr::cust("remaining >= 0"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_subscribe_consents")
                    .table(SubscribeConsents::Table)
                    .col(SubscribeConsents::UserId)
                    .col(SubscribeConsents::TemplateId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Journeys::Table.into_iden(),
            SubscribeConsents::Table.into_iden(),
            PushCounters::Table.into_iden(),
            PushDeliveries::Table.into_iden(),
            Pushes::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::PushOptedOutAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    PushOptedOutAt,
}

#[derive(DeriveIden)]
enum Pushes {
    Table,
    Id,
    Slug,
    Name,
    Channel,
    SegmentSlug,
    Variants,
    QuietHours,
    ScheduledFor,
    Status,
    MassTagId,
    MassMsgId,
    MassResult,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum PushDeliveries {
    Table,
    Id,
    PushId,
    UserId,
    Step,
    Variant,
    Fields,
    Status,
    Reason,
    Errcode,
    MsgId,
    Attempts,
    QueuedAt,
    NotBefore,
    SentAt,
    ReportedAt,
    Report,
}

#[derive(DeriveIden)]
enum PushCounters {
    Table,
    Id,
    Subject,
    Window,
    Used,
}

#[derive(DeriveIden)]
enum SubscribeConsents {
    Table,
    Id,
    UserId,
    TemplateId,
    Remaining,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Journeys {
    Table,
    Id,
    Slug,
    Name,
    Trigger,
    Condition,
    DelayMinutes,
    PushId,
    Enabled,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}
