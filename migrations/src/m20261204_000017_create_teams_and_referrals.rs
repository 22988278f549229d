use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Teams::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Teams::Id))
                    .col(string_len_uniq(Teams::Code, 16))
                    .col(big_integer(Teams::CampaignId))
                    .col(big_integer(Teams::ActivityId))
                    .col(big_integer(Teams::LeaderId))
                    .col(integer(Teams::Size))
                    .col(string_len(Teams::Status, 16))
                    .col(timestamp_with_time_zone(Teams::CreatedAt))
                    .col(timestamp_with_time_zone(Teams::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Teams::ClosedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_teams_status_expires")
                    .table(Teams::Table)
                    .col(Teams::Status)
                    .col(Teams::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        // The database's own guard on seats, whatever the store says: a seat is taken once per team, never past
        // the team's size, and a customer holds one seat per activity while their team is open or complete
        // (`active_activity_id` is set to NULL when a team expires; NULLs never collide in a unique index).
        manager
            .create_table(
                Table::create()
                    .table(TeamMembers::Table)
                    .if_not_exists()
                    .col(big_pk_auto(TeamMembers::Id))
                    .col(big_integer(TeamMembers::TeamId))
                    .col(big_integer(TeamMembers::ActivityId))
                    .col(big_integer(TeamMembers::UserId))
                    .col(integer(TeamMembers::Seat))
                    .col(integer(TeamMembers::TeamSize))
                    .col(big_integer_null(TeamMembers::ActiveActivityId))
                    .col(timestamp_with_time_zone(TeamMembers::JoinedAt))
                    .check(Expr::cust("seat >= 1 AND seat <= team_size"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TeamMembers::Table, TeamMembers::TeamId)
                            .to(Teams::Table, Teams::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "uq_team_members_seat",
                vec![TeamMembers::TeamId, TeamMembers::Seat],
            ),
            (
                "uq_team_members_active",
                vec![TeamMembers::ActiveActivityId, TeamMembers::UserId],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(TeamMembers::Table).unique();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_team_members_user")
                    .table(TeamMembers::Table)
                    .col(TeamMembers::UserId)
                    .col(TeamMembers::ActivityId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReferralCodes::Table)
                    .if_not_exists()
                    .col(big_integer(ReferralCodes::UserId).primary_key())
                    .col(string_len_uniq(ReferralCodes::Code, 16))
                    .col(text_null(ReferralCodes::QrUrl))
                    .col(timestamp_with_time_zone_null(ReferralCodes::QrExpiresAt))
                    .col(timestamp_with_time_zone(ReferralCodes::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // One inviter per referee, ever (the unique referee), and never oneself (the check).
        manager
            .create_table(
                Table::create()
                    .table(Referrals::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Referrals::Id))
                    .col(big_integer_uniq(Referrals::RefereeId))
                    .col(big_integer(Referrals::InviterId))
                    .col(string_len(Referrals::Channel, 16))
                    .col(big_integer_null(Referrals::ActivityId))
                    .col(timestamp_with_time_zone(Referrals::CreditedAt))
                    .check(Expr::cust("referee_id <> inviter_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_inviter")
                    .table(Referrals::Table)
                    .col(Referrals::InviterId)
                    .col(Referrals::ActivityId)
                    .to_owned(),
            )
            .await?;
        // A first follow through an invite code, waiting for its follower's unionid (asked of WeChat outside the
        // callback's transaction) so that the credit goes to the person, not to one of their identities.
        manager
            .create_table(
                Table::create()
                    .table(PendingReferrals::Table)
                    .if_not_exists()
                    .col(big_integer(PendingReferrals::RefereeId).primary_key())
                    .col(string_len(PendingReferrals::Code, 16))
                    .col(timestamp_with_time_zone(PendingReferrals::FollowedAt))
                    .col(integer(PendingReferrals::Attempts).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PendingReferrals::Table.into_iden(),
            Referrals::Table.into_iden(),
            ReferralCodes::Table.into_iden(),
            TeamMembers::Table.into_iden(),
            Teams::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Teams {
    Table,
    Id,
    Code,
    CampaignId,
    ActivityId,
    LeaderId,
    Size,
    Status,
    CreatedAt,
    ExpiresAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum TeamMembers {
    Table,
    Id,
    TeamId,
    ActivityId,
    UserId,
    Seat,
    TeamSize,
    ActiveActivityId,
    JoinedAt,
}

#[derive(DeriveIden)]
enum ReferralCodes {
    Table,
    UserId,
    Code,
    QrUrl,
    QrExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PendingReferrals {
    Table,
    RefereeId,
    Code,
    FollowedAt,
    Attempts,
}

#[derive(DeriveIden)]
enum Referrals {
    Table,
    Id,
    RefereeId,
    InviterId,
    Channel,
    ActivityId,
    CreditedAt,
}
