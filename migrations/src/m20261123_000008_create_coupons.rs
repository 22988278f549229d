use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CouponTemplates::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CouponTemplates::Id))
                    .col(string_len_uniq(CouponTemplates::Slug, 64))
                    .col(string_len(CouponTemplates::Name, 128))
                    .col(big_integer(CouponTemplates::ValueFen))
                    .col(big_integer(CouponTemplates::MinSpendFen))
                    .col(integer_null(CouponTemplates::ValidDays))
                    .col(timestamp_with_time_zone_null(CouponTemplates::ValidUntil))
                    .col(integer_null(CouponTemplates::PerUserLimit))
                    .col(integer_null(CouponTemplates::TotalLimit))
                    .col(integer(CouponTemplates::IssuedCount))
                    .col(timestamp_with_time_zone(CouponTemplates::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserCoupons::Table)
                    .if_not_exists()
                    .col(big_pk_auto(UserCoupons::Id))
                    .col(big_integer(UserCoupons::TemplateId))
                    .col(big_integer(UserCoupons::UserId))
                    .col(string_len_uniq(UserCoupons::Code, 32))
                    .col(string_len(UserCoupons::Status, 16))
                    .col(string_len_uniq(UserCoupons::SourceRef, 128))
                    .col(timestamp_with_time_zone(UserCoupons::IssuedAt))
                    .col(timestamp_with_time_zone(UserCoupons::ExpiresAt))
                    .col(timestamp_with_time_zone_null(UserCoupons::UsedAt))
                    .col(string_len_null(UserCoupons::UsedBy, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserCoupons::Table, UserCoupons::TemplateId)
                            .to(CouponTemplates::Table, CouponTemplates::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_user_coupons_user")
                    .table(UserCoupons::Table)
                    .col(UserCoupons::UserId)
                    .col(UserCoupons::TemplateId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_user_coupons_status_expires")
                    .table(UserCoupons::Table)
                    .col(UserCoupons::Status)
                    .col(UserCoupons::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserCoupons::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CouponTemplates::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CouponTemplates {
    Table,
    Id,
    Slug,
    Name,
    ValueFen,
    MinSpendFen,
    ValidDays,
    ValidUntil,
    PerUserLimit,
    TotalLimit,
    IssuedCount,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UserCoupons {
    Table,
    Id,
    TemplateId,
    UserId,
    Code,
    Status,
    SourceRef,
    IssuedAt,
    ExpiresAt,
    UsedAt,
    UsedBy,
}
