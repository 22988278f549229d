//! Where inbound messages and events go: the operator's auto-reply (`reply`, chosen from the rules), then the
//! writes of each domain that reacts to WeChat, which implements `InboundHandler` and is listed in `HANDLERS`.
//! Later ones plug in here: referral credit on a `qrscene_` subscribe, push delivery status on
//! TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH, consent records on subscribe_msg_*.

use async_trait::async_trait;
use sea_orm::DatabaseTransaction;

use super::auto_reply::Rules;
use crate::telemetry::mask_openid;
use crate::users;
use crate::wechat::message::{Event, Inbound, InboundKind, Reply};

/// A reply chosen by a handler, and the auto-reply rule behind it, if any.
#[derive(Debug, Clone)]
pub struct Answer {
    pub reply: Reply,
    pub rule_id: Option<i64>,
}

#[async_trait]
pub trait InboundHandler: Send + Sync {
    /// Quick work only (the whole callback answers within WeChat's 5 s), written on `txn`, which commits with
    /// the inbox row and runs only for a message recorded for the first time. Slow work is to be queued, not
    /// done here.
    async fn handle(&self, txn: &DatabaseTransaction, inbound: &Inbound) -> anyhow::Result<()>;
}

/// Keeps `users.oa_following` and the follow times.
struct FollowState;

#[async_trait]
impl InboundHandler for FollowState {
    async fn handle(&self, txn: &DatabaseTransaction, inbound: &Inbound) -> anyhow::Result<()> {
        let following = match &inbound.kind {
            InboundKind::Event(Event::Subscribe { .. } | Event::Scan { .. }) => true,
            InboundKind::Event(Event::Unsubscribe) => false,
            _ => return Ok(()),
        };
        users::service::record_follow(txn, &inbound.from_user, following, inbound.create_time)
            .await?;
        Ok(())
    }
}

const HANDLERS: [&dyn InboundHandler; 1] = [&FollowState];

/// Runs every handler's writes for a message recorded for the first time.
pub async fn handle(txn: &DatabaseTransaction, inbound: &Inbound) -> anyhow::Result<()> {
    for handler in HANDLERS {
        handler.handle(txn, inbound).await?;
    }
    Ok(())
}

/// The operator-configured reply to a message, if any: subscribe welcome, keywords, menu CLICK keys. Chosen from
/// `rules` alone (no write), so a batch of messages knows its replies before recording them.
pub fn reply(rules: &Rules, inbound: &Inbound) -> Option<Answer> {
    let rule = match &inbound.kind {
        InboundKind::Text { content, .. } => rules.keyword(content),
        InboundKind::Event(Event::Subscribe { .. }) => rules.subscribe(),
        InboundKind::Event(Event::Click { key }) => rules.click(key),
        InboundKind::Unknown { msg_type } => {
            tracing::info!(msg_type, openid = %mask_openid(&inbound.from_user), "unknown message type");
            None
        }
        InboundKind::Event(Event::Unknown { event, .. }) => {
            tracing::info!(event, openid = %mask_openid(&inbound.from_user), "unknown event");
            None
        }
        _ => None,
    };
    rule.map(|(rule_id, reply)| Answer {
        reply,
        rule_id: Some(rule_id),
    })
}
