use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A fan-out keeps its place: the last customer id it queued, when it last moved (a stalled one is
        // resumed from there by any instance), and when it reached the segment's end (only then can the push
        // be finished). Pushes already sending when this ran had finished their fan-out.
        // SQLite adds one column a statement.
        // And a mass batch whose call got no answer: its client id, so its retry is that batch under that id.
        for column in [
            big_integer_null(Pushes::FanoutAfter),
            timestamp_with_time_zone_null(Pushes::FanoutBeat),
            timestamp_with_time_zone_null(Pushes::FannedOutAt),
            string_len_null(Pushes::MassPendingClientId, 64),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Pushes::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE pushes SET fanned_out_at = started_at WHERE started_at IS NOT NULL",
            )
            .await?;
        // When a delivery spent its limits (the windows follow from it), so a retry never spends them twice
        // and a refund gives back exactly what was spent; and when a mass delivery's customer was put in the
        // push's tag, so a later batch takes out everyone an earlier one put in, sent or not.
        for column in [
            timestamp_with_time_zone_null(PushDeliveries::SpentAt),
            timestamp_with_time_zone_null(PushDeliveries::TaggedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PushDeliveries::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Pushes::FanoutAfter,
            Pushes::FanoutBeat,
            Pushes::FannedOutAt,
            Pushes::MassPendingClientId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Pushes::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [PushDeliveries::SpentAt, PushDeliveries::TaggedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PushDeliveries::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Pushes {
    Table,
    FanoutAfter,
    FanoutBeat,
    FannedOutAt,
    MassPendingClientId,
}

#[derive(DeriveIden)]
enum PushDeliveries {
    Table,
    SpentAt,
    TaggedAt,
}
