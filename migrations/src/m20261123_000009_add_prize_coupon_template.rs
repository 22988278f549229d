use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A coupon prize names the template of the coupon it issues.
        manager
            .alter_table(
                Table::alter()
                    .table(Prizes::Table)
                    .add_column(string_len_null(Prizes::CouponTemplate, 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Prizes::Table)
                    .drop_column(Prizes::CouponTemplate)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Prizes {
    Table,
    CouponTemplate,
}
