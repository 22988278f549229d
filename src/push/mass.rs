//! Mass sends: one call to WeChat for the whole push, to an official-account tag that holds exactly the
//! customers it may reach now. Each customer's four-a-month (and daily, weekly) limit is spent first, so
//! WeChat never has to filter anyone out; the tag is filled 50 openids a call; the send call itself is held to
//! `push.mass_calls_per_minute` across instances. The queue carries one message for the push
//! (`mass:<push id>`), not one per customer. One worker at a time sends a push (a store lock held for the
//! whole send), so a long send's deliveries are never taken for a dead worker's.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::deliver::{set_on, state, Delivering, Pass};
use super::limits::{self, Spend};
use super::model::{Channel, PushError, QuietHours};
use super::saved::{self, status};
use crate::config::RateLimitRule;
use crate::entities::{push_deliveries, pushes};
use crate::store::StateStore;
use crate::users::service::push_targets;
use crate::wechat::client::WeChatError;

/// The queue message that sends a mass push's queued deliveries.
pub fn message(push_id: i64) -> String {
    format!("mass:{push_id}")
}

/// The push a queue message names, if it is a mass message.
pub fn push_of(payload: &str) -> Option<i64> {
    payload.strip_prefix("mass:")?.parse().ok()
}

/// How long one worker may hold a mass push: the tagging and the call of a very large tag fit in it.
const SENDING_LEASE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

fn lock_name(push_id: i64) -> String {
    format!("push:mass:{push_id}")
}

/// Whether a worker is sending the mass push now.
pub async fn in_progress(store: &dyn StateStore, push_id: i64) -> Result<bool, PushError> {
    let name = lock_name(push_id);
    match store.lock(&name, std::time::Duration::from_secs(1)).await? {
        Some(token) => {
            store.unlock(&name, &token).await?;
            Ok(false)
        }
        None => Ok(true),
    }
}

/// Moves this push's `from` deliveries to `to` (with a reason and a time to wait); returns how many.
async fn move_all(
    cx: Delivering<'_>,
    push_id: i64,
    from: &str,
    to: &str,
    reason: Option<&str>,
    not_before: Option<DateTime<Utc>>,
) -> Result<u64, PushError> {
    let moved = push_deliveries::Entity::update_many()
        .col_expr(push_deliveries::Column::Status, Expr::value(to))
        .col_expr(
            push_deliveries::Column::Reason,
            Expr::value(reason.map(str::to_owned)),
        )
        .col_expr(push_deliveries::Column::NotBefore, Expr::value(not_before))
        .filter(push_deliveries::Column::PushId.eq(push_id))
        .filter(push_deliveries::Column::Status.eq(from))
        .exec(cx.db)
        .await?;
    Ok(moved.rows_affected)
}

/// Sends what of the mass push is queued, unless another worker is sending it (what it leaves queued is
/// queued again by `release`).
pub async fn send(cx: Delivering<'_>, push_id: i64) -> Result<Pass, PushError> {
    let name = lock_name(push_id);
    let Some(token) = cx.store.lock(&name, SENDING_LEASE).await? else {
        return Ok(Pass::default());
    };
    let sent = send_locked(cx, push_id).await;
    cx.store.unlock(&name, &token).await?;
    sent
}

async fn send_locked(cx: Delivering<'_>, push_id: i64) -> Result<Pass, PushError> {
    let mut pass = Pass::default();
    let push = saved::find_by_id(cx.db, push_id).await?;
    if push.status == status::CANCELLED {
        pass.skipped += move_all(
            cx,
            push_id,
            state::QUEUED,
            state::SKIPPED,
            Some("cancelled"),
            None,
        )
        .await?;
        return Ok(pass);
    }
    if let Some(until) = limits::quiet_until(cx.settings, cx.now) {
        match QuietHours::parse(&push.quiet_hours) {
            QuietHours::Hold => {
                pass.held += move_all(
                    cx,
                    push_id,
                    state::QUEUED,
                    state::HELD,
                    Some("quiet_hours"),
                    Some(until),
                )
                .await?
            }
            QuietHours::Drop => {
                pass.skipped += move_all(
                    cx,
                    push_id,
                    state::QUEUED,
                    state::SKIPPED,
                    Some("quiet_hours"),
                    None,
                )
                .await?
            }
        }
        return Ok(pass);
    }
    // Nothing queued (another message for the push was sent already): no call, and none of the minute's budget.
    let waiting = push_deliveries::Entity::find()
        .filter(push_deliveries::Column::PushId.eq(push_id))
        .filter(push_deliveries::Column::Status.eq(state::QUEUED))
        .one(cx.db)
        .await?;
    if waiting.is_none() {
        return Ok(pass);
    }
    let rule = RateLimitRule {
        limit: cx.settings.mass_calls_per_minute,
        window_secs: 60,
    };
    let budget = cx
        .store
        .rate_limit("wechat_mass_calls", "account", rule)
        .await?;
    if !budget.allowed {
        let until = cx.now + chrono::Duration::from_std(budget.retry_after).unwrap_or_default();
        pass.held += move_all(
            cx,
            push_id,
            state::QUEUED,
            state::HELD,
            Some("mass_rate"),
            Some(until),
        )
        .await?;
        return Ok(pass);
    }
    // The claim: every queued delivery of the push, at once; a second worker with the same message finds none.
    let mut claimed = push_deliveries::Entity::update_many()
        .col_expr(push_deliveries::Column::Status, Expr::value(state::SENDING))
        .col_expr(push_deliveries::Column::SentAt, Expr::value(cx.now))
        .filter(push_deliveries::Column::PushId.eq(push_id))
        .filter(push_deliveries::Column::Status.eq(state::QUEUED))
        .exec_with_returning(cx.db)
        .await?;
    if claimed.is_empty() {
        return Ok(pass);
    }
    // A batch whose call got no answer is sent again alone, under its own client id: WeChat then tells a
    // repeat (45065) from a first send, and nobody else is marked sent by its answer. The rest wait.
    if push.mass_pending_client_id.is_some() {
        let (retry, later): (Vec<_>, Vec<_>) = claimed
            .into_iter()
            .partition(|delivery| delivery.spent_at.is_some() && delivery.tagged_at.is_some());
        if !later.is_empty() {
            push_deliveries::Entity::update_many()
                .col_expr(push_deliveries::Column::Status, Expr::value(state::QUEUED))
                .filter(push_deliveries::Column::Id.is_in(later.iter().map(|d| d.id)))
                .exec(cx.db)
                .await?;
            cx.store
                .enqueue(super::fanout::QUEUE, &[message(push_id)])
                .await?;
        }
        claimed = retry;
        if claimed.is_empty() {
            // Nothing of it is left to send (skipped or cancelled since): the next batch is a new one.
            set_pending(cx, push_id, None).await?;
            return Ok(pass);
        }
    }
    claimed.sort_by_key(|delivery| (delivery.user_id, delivery.id));
    let mut reached: Vec<(i64, String, Spend)> = Vec::new();
    for page in claimed.chunks(500) {
        let ids: Vec<i64> = page.iter().map(|d| d.user_id).collect();
        let targets = push_targets(cx.db, &ids).await?;
        let txn = crate::db::begin_write(cx.db).await?;
        let mut asking = Vec::new();
        for delivery in page {
            let target = targets.iter().find(|t| t.user_id == delivery.user_id);
            let reach = match target {
                None => Err("account_disabled"),
                Some(target) => match super::fanout::unreachable(Channel::Mass, target) {
                    Some(reason) => Err(reason),
                    None => Ok(target.oa_openid.clone().unwrap_or_default()),
                },
            };
            let openid = match reach {
                Ok(openid) => openid,
                Err(reason) => {
                    skip(&txn, delivery.id, reason).await?;
                    pass.skipped += 1;
                    continue;
                }
            };
            let spent = Spend {
                limits: super::deliver::limits_for(
                    cx.settings,
                    Channel::Mass,
                    delivery.user_id,
                    delivery.spent_at.unwrap_or(cx.now),
                ),
                consent: None,
            };
            // Spent by an earlier try whose answer never came: not spent twice.
            match delivery.spent_at {
                Some(_) => reached.push((delivery.id, openid, spent)),
                None => asking.push((delivery.id, openid, spent)),
            }
        }
        let spends: Vec<Spend> = asking.iter().map(|(_, _, spent)| spent.clone()).collect();
        let refusals = limits::spend_all(&txn, &spends).await?;
        let mut spent_now = Vec::new();
        for (ask, refusal) in asking.into_iter().zip(refusals) {
            match refusal {
                Some(reason) => {
                    skip(&txn, ask.0, reason).await?;
                    pass.skipped += 1;
                }
                None => {
                    spent_now.push(ask.0);
                    reached.push(ask);
                }
            }
        }
        super::deliver::mark_spent(&txn, &spent_now, cx.now).await?;
        txn.commit().await?;
    }
    if reached.is_empty() {
        return Ok(pass);
    }
    let client_msg_id = push
        .mass_pending_client_id
        .clone()
        .unwrap_or_else(|| format!("wxc-p{}-{}", push.id, reached[0].0));
    let answer = match tag_and_send(cx, &push, &reached, &client_msg_id).await {
        // WeChat already has a send under this batch's client id (a retry after a lost answer): it was sent.
        Err(error) if error.errcode() == Some(45065) => Ok(String::new()),
        answer => answer,
    };
    match answer {
        Ok(msg_id) => {
            // The msg_id of a send WeChat already had (45065) came with the first answer, which was lost.
            let msg_id = (!msg_id.is_empty()).then_some(msg_id);
            let ids: Vec<i64> = reached.iter().map(|(id, _, _)| *id).collect();
            let sent = [
                (push_deliveries::Column::Status, Expr::value(state::SENT)),
                (push_deliveries::Column::MsgId, Expr::value(msg_id.clone())),
            ];
            set_on(cx.db, &ids, &sent).await?;
            set_pending(cx, push_id, None).await?;
            if let Some(msg_id) = msg_id {
                pushes::Entity::update_many()
                    .col_expr(pushes::Column::MassMsgId, Expr::value(msg_id))
                    .filter(pushes::Column::Id.eq(push_id))
                    .exec(cx.db)
                    .await?;
            }
            pass.sent += ids.len() as u64;
        }
        Err(error) => {
            // WeChat refused: nothing was sent, so what the sends spent comes back. With no answer it may have
            // been sent: the limits stay spent and the retry's client id lets WeChat tell (45065).
            let errcode = error.errcode();
            if errcode.is_some() {
                set_pending(cx, push_id, None).await?;
                let txn = crate::db::begin_write(cx.db).await?;
                let spends: Vec<Spend> =
                    reached.iter().map(|(_, _, spent)| spent.clone()).collect();
                limits::give_back(&txn, &spends, &[], cx.now).await?;
                let ids: Vec<i64> = reached.iter().map(|(id, _, _)| *id).collect();
                let unspent = Expr::value(Option::<DateTime<Utc>>::None);
                set_on(&txn, &ids, &[(push_deliveries::Column::SpentAt, unspent)]).await?;
                txn.commit().await?;
            }
            let retry = match errcode {
                Some(45009) => Some((
                    "wechat_quota",
                    limits::open_after(cx.settings, limits::next_midnight(cx.now)),
                )),
                Some(45011) | None => Some((
                    "wechat_rate",
                    cx.now + chrono::Duration::seconds(cx.settings.rate_backoff_secs as i64),
                )),
                Some(_) => None,
            };
            for (id, _, _) in &reached {
                let mut row = push_deliveries::ActiveModel {
                    ..Default::default()
                };
                match retry {
                    Some((reason, until)) => {
                        row.status = Set(state::HELD.into());
                        row.reason = Set(Some(reason.into()));
                        row.not_before = Set(Some(until));
                        pass.held += 1;
                    }
                    None => {
                        row.status = Set(state::FAILED.into());
                        row.reason = Set(Some("wechat_error".into()));
                        row.errcode = Set(errcode.and_then(|code| i32::try_from(code).ok()));
                        pass.failed += 1;
                    }
                }
                push_deliveries::Entity::update_many()
                    .set(row)
                    .filter(push_deliveries::Column::Id.eq(*id))
                    .exec(cx.db)
                    .await?;
            }
            tracing::warn!(push = push.slug, ?errcode, error = %error, "a mass send failed: nothing was sent");
        }
    }
    Ok(pass)
}

async fn skip(
    conn: &impl sea_orm::ConnectionTrait,
    id: i64,
    reason: &str,
) -> Result<(), PushError> {
    push_deliveries::Entity::update_many()
        .col_expr(push_deliveries::Column::Status, Expr::value(state::SKIPPED))
        .col_expr(push_deliveries::Column::Reason, Expr::value(reason))
        .filter(push_deliveries::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Fills the push's tag with exactly `reached` and sends to it: everyone an earlier batch put in the tag is
/// taken out first (sent or not: one whose send failed, or who was skipped since, must not be reached by this
/// one), and this batch is recorded as tagged before the tagging call, since a call without an answer may have
/// tagged them.
async fn tag_and_send(
    cx: Delivering<'_>,
    push: &pushes::Model,
    reached: &[(i64, String, Spend)],
    client_msg_id: &str,
) -> Result<String, WeChatError> {
    fn stored(error: impl std::fmt::Display) -> WeChatError {
        WeChatError::Decode(format!("recording the tag: {error}"))
    }
    let tag_id = match push.mass_tag_id {
        Some(tag_id) => {
            let earlier = tagged_openids(cx, push.id)
                .await
                .map_err(|error| WeChatError::Decode(format!("reading the tag: {error}")))?;
            // The client calls WeChat 50 openids at a time.
            cx.wechat.untag_users(tag_id, &earlier).await?;
            push_deliveries::Entity::update_many()
                .col_expr(
                    push_deliveries::Column::TaggedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(push_deliveries::Column::PushId.eq(push.id))
                .filter(push_deliveries::Column::TaggedAt.is_not_null())
                .exec(cx.db)
                .await
                .map_err(stored)?;
            tag_id
        }
        None => {
            let tag = cx
                .wechat
                .create_tag(&format!("wxc-push-{}", push.id))
                .await?;
            pushes::Entity::update_many()
                .col_expr(pushes::Column::MassTagId, Expr::value(tag.id))
                .filter(pushes::Column::Id.eq(push.id))
                .exec(cx.db)
                .await
                .map_err(stored)?;
            tag.id
        }
    };
    let ids: Vec<i64> = reached.iter().map(|(id, _, _)| *id).collect();
    let tagged = [(push_deliveries::Column::TaggedAt, Expr::value(cx.now))];
    set_on(cx.db, &ids, &tagged).await.map_err(stored)?;
    let openids: Vec<String> = reached
        .iter()
        .map(|(_, openid, _)| openid.clone())
        .collect();
    cx.wechat.tag_users(tag_id, &openids).await?;
    // The call itself: if this worker dies during it, the batch may have been sent and is never sent again.
    let calling = [(push_deliveries::Column::Status, Expr::value(state::CALLING))];
    set_on(cx.db, &ids, &calling).await.map_err(stored)?;
    let media_id = saved::variants(push)
        .first()
        .and_then(|variant| variant.media_id.clone())
        .unwrap_or_default();
    // Recorded before the call: without an answer, the retry is this batch under this id.
    set_pending(cx, push.id, Some(client_msg_id))
        .await
        .map_err(|error| WeChatError::Decode(format!("recording the batch: {error}")))?;
    let msg_id = cx
        .wechat
        .mass_send_by_tag(tag_id, &media_id, client_msg_id)
        .await?;
    Ok(msg_id.to_string())
}

/// The official-account openids an earlier batch of this push put in its tag.
async fn tagged_openids(cx: Delivering<'_>, push_id: i64) -> Result<Vec<String>, PushError> {
    use sea_orm::QuerySelect;
    let user_ids: Vec<i64> = push_deliveries::Entity::find()
        .select_only()
        .column(push_deliveries::Column::UserId)
        .filter(push_deliveries::Column::PushId.eq(push_id))
        .filter(push_deliveries::Column::TaggedAt.is_not_null())
        .into_tuple()
        .all(cx.db)
        .await?;
    let mut openids = Vec::new();
    for chunk in user_ids.chunks(500) {
        openids.extend(
            push_targets(cx.db, chunk)
                .await?
                .into_iter()
                .filter_map(|target| target.oa_openid),
        );
    }
    Ok(openids)
}

/// Records (or, `None`, forgets) the client id of the push's batch whose call may not have been answered.
async fn set_pending(
    cx: Delivering<'_>,
    push_id: i64,
    client_msg_id: Option<&str>,
) -> Result<(), PushError> {
    pushes::Entity::update_many()
        .col_expr(
            pushes::Column::MassPendingClientId,
            Expr::value(client_msg_id.map(str::to_owned)),
        )
        .filter(pushes::Column::Id.eq(push_id))
        .exec(cx.db)
        .await?;
    Ok(())
}
