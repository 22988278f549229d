use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Every inbound official-account message and event, once: `dedupe_key` is unique, so a WeChat retry
        // whose store claim lapsed still cannot be recorded (or acted on) twice.
        manager
            .create_table(
                Table::create()
                    .table(WechatInbox::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WechatInbox::Id))
                    .col(string_len_uniq(WechatInbox::DedupeKey, 64))
                    .col(string_len(WechatInbox::Openid, 64))
                    .col(string_len(WechatInbox::MsgType, 32))
                    .col(string_len_null(WechatInbox::Event, 64))
                    .col(string_len_null(WechatInbox::EventKey, 256))
                    .col(string_len_null(WechatInbox::MsgId, 64))
                    .col(big_integer_null(WechatInbox::ReplyRuleId))
                    .col(timestamp_with_time_zone(WechatInbox::SentAt))
                    .col(timestamp_with_time_zone(WechatInbox::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_wechat_inbox_openid")
                    .table(WechatInbox::Table)
                    .col(WechatInbox::Openid)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_wechat_inbox_received_at")
                    .table(WechatInbox::Table)
                    .col(WechatInbox::ReceivedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AutoReplyRules::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AutoReplyRules::Id))
                    .col(string_len(AutoReplyRules::Trigger, 16))
                    .col(string_len(AutoReplyRules::MatchType, 16))
                    .col(string_len(AutoReplyRules::Pattern, 128))
                    .col(integer(AutoReplyRules::Priority))
                    .col(json(AutoReplyRules::Reply))
                    .col(boolean(AutoReplyRules::Enabled))
                    .col(timestamp_with_time_zone(AutoReplyRules::CreatedAt))
                    .col(timestamp_with_time_zone(AutoReplyRules::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_auto_reply_rules_trigger")
                    .table(AutoReplyRules::Table)
                    .col(AutoReplyRules::Trigger)
                    .col(AutoReplyRules::Enabled)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AutoReplyRules::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WechatInbox::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WechatInbox {
    Table,
    Id,
    DedupeKey,
    Openid,
    MsgType,
    Event,
    EventKey,
    MsgId,
    ReplyRuleId,
    SentAt,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum AutoReplyRules {
    Table,
    Id,
    Trigger,
    MatchType,
    Pattern,
    Priority,
    Reply,
    Enabled,
    CreatedAt,
    UpdatedAt,
}
