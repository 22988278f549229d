//! Where inbound messages and events go. Each domain that reacts to WeChat implements `InboundHandler` and is
//! listed in `HANDLERS`; later ones plug in here (referral credit on a `qrscene_` subscribe, push delivery status on
//! TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH, consent records on subscribe_msg_*).

use async_trait::async_trait;
use sea_orm::DatabaseTransaction;

use super::auto_reply;
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
    /// the inbox row. Slow work is to be queued, not done here.
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        inbound: &Inbound,
    ) -> anyhow::Result<Option<Answer>>;
}

/// Keeps `users.oa_following` and the follow times.
struct FollowState;

#[async_trait]
impl InboundHandler for FollowState {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        inbound: &Inbound,
    ) -> anyhow::Result<Option<Answer>> {
        let following = match &inbound.kind {
            InboundKind::Event(Event::Subscribe { .. } | Event::Scan { .. }) => true,
            InboundKind::Event(Event::Unsubscribe) => false,
            _ => return Ok(None),
        };
        users::service::record_follow(txn, &inbound.from_user, following, inbound.create_time)
            .await?;
        Ok(None)
    }
}

/// Operator-configured replies: subscribe welcome, keywords, menu CLICK keys.
struct AutoReplies;

#[async_trait]
impl InboundHandler for AutoReplies {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        inbound: &Inbound,
    ) -> anyhow::Result<Option<Answer>> {
        let rule = match &inbound.kind {
            InboundKind::Text { content, .. } => auto_reply::match_keyword(txn, content).await?,
            InboundKind::Event(Event::Subscribe { .. }) => auto_reply::match_subscribe(txn).await?,
            InboundKind::Event(Event::Click { key }) => auto_reply::match_click(txn, key).await?,
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
        Ok(rule.map(|(rule_id, reply)| Answer {
            reply,
            rule_id: Some(rule_id),
        }))
    }
}

const HANDLERS: [&dyn InboundHandler; 2] = [&FollowState, &AutoReplies];

/// Runs every handler; the first reply wins.
pub async fn dispatch(
    txn: &DatabaseTransaction,
    inbound: &Inbound,
) -> anyhow::Result<Option<Answer>> {
    let mut answer = None;
    for handler in HANDLERS {
        let this = handler.handle(txn, inbound).await?;
        if answer.is_none() {
            answer = this;
        }
    }
    Ok(answer)
}
