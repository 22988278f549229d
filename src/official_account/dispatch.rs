//! Where inbound messages and events go: the operator's auto-reply (`reply`, chosen from the rules), then the
//! writes of each domain that reacts to WeChat, which implements `InboundHandler` and is listed in `HANDLERS`.
//! A first follow through an inviter's QR code (`qrscene_inv_<code>`) is queued here for its referral credit. Later ones plug
//! in too: push delivery status on TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH, consent records on subscribe_msg_*.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::auto_reply::Rules;
use crate::referrals;
use crate::telemetry::mask_openid;
use crate::users;
use crate::wechat::message::{Event, Inbound, InboundKind, Reply};

/// A reply chosen by a handler, and the auto-reply rule behind it, if any.
#[derive(Debug, Clone)]
pub struct Answer {
    pub reply: Reply,
    pub rule_id: Option<i64>,
}

/// What a handler writes with: the batch's transaction (its writes commit with the inbox rows) and the
/// application clock's time.
pub struct Handling<'a> {
    pub txn: &'a DatabaseTransaction,
    pub now: DateTime<Utc>,
}

#[async_trait]
pub trait InboundHandler: Send + Sync {
    /// Quick work only (the whole callback answers within WeChat's 5 s), written on `cx.txn`, which commits
    /// with the inbox row and runs only for a message recorded for the first time. Slow work is to be queued,
    /// not done here.
    async fn handle(&self, cx: &mut Handling<'_>, inbound: &Inbound) -> anyhow::Result<()>;
}

/// Keeps `users.oa_following` and the follow times, and credits a first follow through an inviter's QR code.
struct FollowState;

#[async_trait]
impl InboundHandler for FollowState {
    async fn handle(&self, cx: &mut Handling<'_>, inbound: &Inbound) -> anyhow::Result<()> {
        let (following, scene) = match &inbound.kind {
            InboundKind::Event(Event::Subscribe { scene, .. }) => (true, scene.as_deref()),
            InboundKind::Event(Event::Scan { .. }) => (true, None),
            InboundKind::Event(Event::Unsubscribe) => (false, None),
            _ => return Ok(()),
        };
        let change = users::service::record_follow(
            cx.txn,
            &inbound.from_user,
            following,
            inbound.create_time,
        )
        .await?;
        // Only a first follow counts: not a re-follow after an unfollow, not a follower scanning (SCAN).
        let invite = scene.and_then(|scene| scene.strip_prefix(referrals::service::SCENE_PREFIX));
        if let (Some(code), true) = (invite, change.first_follow) {
            // Queued, not credited here: the credit needs the follower's unionid, which only a call to WeChat
            // gives, and that call has no place inside the callback's transaction (the referrals job makes it).
            referrals::service::queue_follow(cx.txn, change.user_id, code, cx.now).await?;
        }
        Ok(())
    }
}

const HANDLERS: [&dyn InboundHandler; 1] = [&FollowState];

/// Runs every handler's writes for a message recorded for the first time.
pub async fn handle(cx: &mut Handling<'_>, inbound: &Inbound) -> anyhow::Result<()> {
    for handler in HANDLERS {
        handler.handle(cx, inbound).await?;
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
