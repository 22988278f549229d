use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The database is the last guard on stock: a draw of a stocked prize records which unit of the stock it
        // took (1..=stock, checked on insert), and no two draws can take the same unit, whatever the store said.
        manager
            .alter_table(
                Table::alter()
                    .table(DrawRecords::Table)
                    .add_column(integer_null(DrawRecords::StockSeq))
                    .to_owned(),
            )
            .await?;
        // Draws recorded before: numbered in the order they were recorded.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE draw_records SET stock_seq = (SELECT COUNT(*) FROM draw_records AS earlier \
                 WHERE earlier.prize_id = draw_records.prize_id AND earlier.id <= draw_records.id) \
                 WHERE prize_id IN (SELECT id FROM prizes WHERE stock_total IS NOT NULL)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_draw_records_prize_stock_seq")
                    .table(DrawRecords::Table)
                    .col(DrawRecords::PrizeId)
                    .col(DrawRecords::StockSeq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The per-customer guard and a customer's rebuild read one customer's draws in one pool.
        manager
            .create_index(
                Index::create()
                    .name("idx_draw_records_pool_user")
                    .table(DrawRecords::Table)
                    .col(DrawRecords::PoolId)
                    .col(DrawRecords::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "idx_draw_records_pool_user",
            "idx_draw_records_prize_stock_seq",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(DrawRecords::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(DrawRecords::Table)
                    .drop_column(DrawRecords::StockSeq)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum DrawRecords {
    Table,
    PoolId,
    UserId,
    PrizeId,
    StockSeq,
}
