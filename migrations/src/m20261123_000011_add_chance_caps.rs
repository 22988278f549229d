use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Per-user caps on granted draw chances, and the points price of one chance (none: not for sale).
        for column in [
            PrizePools::ChanceDailyCap,
            PrizePools::ChanceTotalCap,
            PrizePools::ChanceCostPoints,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PrizePools::Table)
                        .add_column(integer_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            PrizePools::ChanceDailyCap,
            PrizePools::ChanceTotalCap,
            PrizePools::ChanceCostPoints,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PrizePools::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PrizePools {
    Table,
    ChanceDailyCap,
    ChanceTotalCap,
    ChanceCostPoints,
}
