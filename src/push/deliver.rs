//! Delivering: a worker takes queue messages (or takes over a stopped worker's after `reclaim_after_secs`),
//! and for each delivery claims its row (`queued` -> `sending`, conditional, so two workers never both send
//! one), applies every limit (each a counted reason), spends what the send uses, calls WeChat, and records the
//! answer. A send that WeChat refused for its quota or rate (45009, 45011) gives back what it spent, is held
//! and retried later, and rests its channel; nothing is lost. A delivery records when it spent its limits, so
//! a retry never spends them twice. A claim is its try: a worker too slow to keep a delivery changes nothing of
//! it. A delivery whose worker died is taken up by `release`: queued again unless it was `calling` (a message
//! WeChat would not recognise as a repeat, cut off during its call), which is counted `interrupted` rather than
//! risk sending it twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};
use std::collections::HashMap;

use serde_json::json;

use super::fanout::{self, QUEUE};
use super::limits::{self, Counted, Spend};
use super::model::{Channel, PushError, QuietHours, Variant};
use super::saved::{self, status};
use crate::config::PushSettings;
use crate::entities::{push_deliveries, pushes};
use crate::official_account::inbox::open_interaction;
use crate::store::StateStore;
use crate::users::service::{push_targets, PushTarget};
use crate::wechat::client::WeChatError;
use crate::wechat::client::{App, WeChatClient};
use crate::wechat::mini_program::SubscribeMessage;
use crate::wechat::official_account::TemplateMessage;

pub mod state {
    pub const QUEUED: &str = "queued";
    pub const HELD: &str = "held";
    pub const SENDING: &str = "sending";
    /// A message that is not idempotent at WeChat's end (subscribe, customer service) being called: if its
    /// worker dies now it may have been sent, so it is never sent again.
    pub const CALLING: &str = "calling";
    pub const SENT: &str = "sent";
    pub const FAILED: &str = "failed";
    pub const SKIPPED: &str = "skipped";
}

/// A delivery left `sending` this long had its worker die mid-call.
const STALE_SENDING: chrono::Duration = chrono::Duration::minutes(5);
/// A queued delivery not taken in this long may have lost its queue message (a flushed store): queued again.
const STALE_QUEUED: chrono::Duration = chrono::Duration::minutes(2);
/// How long WeChat drops a repeat of a template message's `client_msg_id`: a retry later than this could
/// reach the customer twice.
const TEMPLATE_REPEAT_WINDOW: chrono::Duration = chrono::Duration::minutes(10);
/// Customer-service messages allowed after a click, follow or scan (within its minute).
const EVENT_WINDOW_MESSAGES: u64 = 3;

/// What delivering uses.
#[derive(Clone, Copy)]
pub struct Delivering<'a> {
    pub db: &'a DatabaseConnection,
    pub store: &'a dyn StateStore,
    pub wechat: &'a WeChatClient,
    pub settings: &'a PushSettings,
    pub now: DateTime<Utc>,
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub messages: usize,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    pub held: u64,
}

/// Takes over up to `messages` queue messages that `consumer`'s peers left unfinished, then takes new ones,
/// and delivers what they carry. `stop_after` (deliveries) makes it stop in the middle of a message, leaving
/// that message unacked, as a worker that dies does (tests use it).
pub async fn work(
    cx: Delivering<'_>,
    consumer: &str,
    messages: usize,
    stop_after: Option<u64>,
) -> Result<Pass, PushError> {
    let idle = Duration::from_secs(cx.settings.reclaim_after_secs);
    let mut taken = cx.store.reclaim(QUEUE, consumer, idle, messages).await?;
    if taken.len() < messages {
        taken.extend(
            cx.store
                .take(QUEUE, consumer, messages - taken.len())
                .await?,
        );
    }
    let mut pass = Pass::default();
    let mut done = 0u64;
    let begun = std::time::Instant::now();
    for message in taken {
        // Each message claims at its own time: a slow pass's later claims are not already stale to `release`.
        let cx = Delivering {
            now: cx.now + chrono::Duration::from_std(begun.elapsed()).unwrap_or_default(),
            ..cx
        };
        if let Some(push_id) = super::mass::push_of(&message.payload) {
            let sent = super::mass::send(cx, push_id).await?;
            pass.sent += sent.sent;
            pass.failed += sent.failed;
            pass.skipped += sent.skipped;
            pass.held += sent.held;
            cx.store.ack(QUEUE, &[message.id]).await?;
            pass.messages += 1;
            continue;
        }
        let mut ids: Vec<i64> = message
            .payload
            .split(',')
            .filter_map(|id| id.parse().ok())
            .collect();
        let room = stop_after.map(|limit| limit.saturating_sub(done) as usize);
        let stopping = room.is_some_and(|room| room < ids.len());
        if let Some(room) = room.filter(|_| stopping) {
            ids.truncate(room);
        }
        done += ids.len() as u64;
        let batch = deliver_batch(cx, &ids).await?;
        pass.sent += batch.sent;
        pass.failed += batch.failed;
        pass.skipped += batch.skipped;
        pass.held += batch.held;
        if stopping {
            return Ok(pass);
        }
        cx.store.ack(QUEUE, &[message.id]).await?;
        pass.messages += 1;
    }
    Ok(pass)
}

/// A delivery as one claim holds it: its id and the try that claim made. A delivery `release` took back and
/// another worker claimed again has another try, so a worker too slow to keep it changes nothing of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub id: i64,
    pub attempt: i32,
}

impl Claim {
    fn of(delivery: &push_deliveries::Model) -> Self {
        Self {
            id: delivery.id,
            attempt: delivery.attempts,
        }
    }

    /// The rows of these claims, still claimed (`sending` or `calling`) by them.
    fn held(claims: &[Claim]) -> sea_orm::Condition {
        let any = claims.iter().fold(sea_orm::Condition::any(), |any, claim| {
            any.add(
                sea_orm::Condition::all()
                    .add(push_deliveries::Column::Id.eq(claim.id))
                    .add(push_deliveries::Column::Attempts.eq(claim.attempt)),
            )
        });
        sea_orm::Condition::all()
            .add(any)
            .add(push_deliveries::Column::Status.is_in([state::SENDING, state::CALLING]))
    }
}

/// Sets a claimed delivery's state, reason and time to wait, only while the claim still holds it; whether it
/// did.
async fn settle(
    conn: &impl ConnectionTrait,
    claim: Claim,
    to: &str,
    reason: Option<&str>,
    changes: impl FnOnce(&mut push_deliveries::ActiveModel),
) -> Result<bool, PushError> {
    let mut row = push_deliveries::ActiveModel {
        status: Set(to.into()),
        reason: Set(reason.map(str::to_owned)),
        ..Default::default()
    };
    changes(&mut row);
    let settled = push_deliveries::Entity::update_many()
        .set(row)
        .filter(Claim::held(&[claim]))
        .exec(conn)
        .await?;
    Ok(settled.rows_affected == 1)
}

/// The store key of a channel's rest after WeChat said "too fast" or "quota".
fn rest_key(channel: Channel) -> String {
    format!("push:rest:{}", channel.as_str())
}

/// The counted limits one send spends at `at` (their windows follow from it).
pub fn limits_for(
    settings: &PushSettings,
    channel: Channel,
    user_id: i64,
    at: DateTime<Utc>,
) -> Vec<Counted> {
    let mut spent = vec![
        Counted::customer_day(settings, user_id, at),
        Counted::customer_week(settings, user_id, at),
    ];
    match channel {
        Channel::Template => spent.push(Counted::template_day(settings, at)),
        Channel::Mass => spent.push(Counted::mass_month(settings, user_id, at)),
        _ => {}
    }
    spent
}

/// Records that these deliveries spent their limits now: a retry of one spends nothing again.
pub async fn mark_spent(
    conn: &impl ConnectionTrait,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), PushError> {
    set_on(
        conn,
        ids,
        &[(push_deliveries::Column::SpentAt, Expr::value(now))],
    )
    .await
}

/// Sets these columns of the deliveries `ids`, 500 ids a statement (within the bound-parameter limits).
pub async fn set_on(
    conn: &impl ConnectionTrait,
    ids: &[i64],
    columns: &[(push_deliveries::Column, Expr)],
) -> Result<(), PushError> {
    for chunk in ids.chunks(500) {
        let mut update = push_deliveries::Entity::update_many();
        for (column, value) in columns {
            update = update.col_expr(*column, value.clone());
        }
        update
            .filter(push_deliveries::Column::Id.is_in(chunk.iter().copied()))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// What becomes of one claimed delivery before any call.
enum Decision {
    Skip(&'static str),
    Hold(&'static str, DateTime<Utc>),
    Send(Box<Send>),
    /// The claim no longer holds it (`release` took it back from this too slow worker): left alone.
    Lost,
}

struct Send {
    channel: Channel,
    variant: Variant,
    openid: String,
    /// What the send spends (or, its delivery's `spent_at` set, spent on an earlier try).
    spend: Spend,
}

/// What became of one delivery that was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed,
    Skipped,
    Held,
}

impl Pass {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Failed => self.failed += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Held => self.held += 1,
        }
    }
}

/// Writes a skip or a hold (`given_back`: what it had spent on an earlier try is given back); what became of
/// it, if the claim still held it.
async fn put_aside(
    conn: &impl ConnectionTrait,
    claim: Claim,
    decision: &Decision,
    given_back: bool,
) -> Result<Option<Outcome>, PushError> {
    let (to, reason, until, outcome) = match decision {
        Decision::Skip(reason) => (state::SKIPPED, *reason, None, Outcome::Skipped),
        Decision::Hold(reason, until) => (state::HELD, *reason, Some(*until), Outcome::Held),
        Decision::Send(_) | Decision::Lost => return Ok(None),
    };
    let settled = settle(conn, claim, to, Some(reason), |row| {
        row.not_before = Set(until);
        if given_back {
            row.spent_at = Set(None);
        }
    })
    .await?;
    Ok(settled.then_some(outcome))
}

/// Delivers one message's deliveries: claimed together, checked, their limits spent in one transaction, sent
/// one by one, recorded in one transaction. A few commits a message, not a few a customer. Anything that
/// fails before the first call puts the claim back, so the message's next taker sends them.
async fn deliver_batch(cx: Delivering<'_>, ids: &[i64]) -> Result<Pass, PushError> {
    if ids.is_empty() {
        return Ok(Pass::default());
    }
    // The claim: one worker moves each queued delivery to sending; anyone else finds it taken.
    let mut claimed = push_deliveries::Entity::update_many()
        .col_expr(push_deliveries::Column::Status, Expr::value(state::SENDING))
        .col_expr(
            push_deliveries::Column::Attempts,
            Expr::col(push_deliveries::Column::Attempts).add(1),
        )
        .col_expr(push_deliveries::Column::SentAt, Expr::value(cx.now))
        .filter(push_deliveries::Column::Id.is_in(ids.iter().copied()))
        .filter(push_deliveries::Column::Status.eq(state::QUEUED))
        .exec_with_returning(cx.db)
        .await?;
    if claimed.is_empty() {
        return Ok(Pass::default());
    }
    claimed.sort_by_key(|delivery| (delivery.user_id, delivery.id));
    let mut pass = Pass::default();
    let mut back = GivingBack::default();
    let decisions = match prepare(cx, &claimed, &mut pass, &mut back).await {
        Ok(decisions) => decisions,
        Err(error) => {
            unclaim(cx.db, &claimed).await;
            return Err(error);
        }
    };
    let mut answers = Vec::new();
    let mut untried = Vec::new();
    let mut resting: Option<Option<i64>> = None;
    for (delivery, decision) in claimed.iter().zip(&decisions) {
        let Decision::Send(send) = decision else {
            continue;
        };
        if !untried.is_empty() {
            untried.push(delivery.clone());
            continue;
        }
        // A message WeChat would not recognise as a repeat is marked before its call: a worker that dies
        // during it leaves it `calling` (never sent again), and the rest of its batch `sending` (sent later).
        // One this claim no longer holds (a slow worker's, taken back) is not called at all.
        if resting.is_none() && send.channel != Channel::Template {
            match mark_calling(cx.db, Claim::of(delivery), cx.now).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    tracing::error!(
                        ?error,
                        "a delivery could not be marked: the rest are put back"
                    );
                    untried.push(delivery.clone());
                    continue;
                }
            }
        }
        // Once WeChat said "too fast" or "quota", the rest of the batch is not tried now.
        let answer = match resting {
            Some(code) => Err((code, None)),
            None => call(cx, send.channel, &send.variant, &send.openid, delivery)
                .await
                .map_err(|error| (error.errcode(), Some(error))),
        };
        if let Err((Some(code @ (45009 | 45011)), _)) = &answer {
            resting = Some(Some(*code));
        }
        answers.push((delivery, send, answer));
    }
    let mut sent = Vec::new();
    let mut failures = Vec::new();
    for (delivery, send, answer) in answers {
        match answer {
            Ok(msg_id) => sent.push((Claim::of(delivery), msg_id)),
            Err((errcode, error)) => {
                let failure = failed(cx, send, delivery.attempts, errcode, error.is_none());
                failures.push((Claim::of(delivery), failure));
            }
        }
    }
    // The answers first, in one transaction: once WeChat has a message, nothing after may lose that we sent it.
    let txn = crate::db::begin_write(cx.db).await?;
    record_sent(&txn, &sent, cx.now).await?;
    pass.sent += sent.len() as u64;
    for (claim, failure) in &failures {
        if let Some(outcome) = failure.record(&txn, *claim, &mut back).await? {
            pass.count(outcome);
        }
    }
    txn.commit().await?;
    unclaim(cx.db, &untried).await;
    // Then what refused sends spent comes back, and the channel rests if WeChat asked: each best effort (a
    // limit left spent only holds a customer back; a rest not taken costs one more refused call).
    if let Err(error) = give_back(cx, &back).await {
        tracing::error!(?error, "what refused sends spent was not given back");
    }
    for (_, failure) in &failures {
        if let Some((channel, until, reason)) = failure.rest {
            if let Err(error) = rest(cx, channel, until, reason).await {
                tracing::error!(?error, "the channel's rest was not recorded");
            }
        }
    }
    Ok(pass)
}

/// Gives back, in one transaction, what the batch's refused (or skipped, never called) sends spent.
async fn give_back(cx: Delivering<'_>, back: &GivingBack) -> Result<(), PushError> {
    if back.spends.is_empty() && back.consents_gone.is_empty() {
        return Ok(());
    }
    let txn = crate::db::begin_write(cx.db).await?;
    limits::give_back(&txn, &back.spends, &back.consents_gone, cx.now).await?;
    txn.commit().await?;
    Ok(())
}

/// Rests `channel` for every worker until `until`: WeChat said "too fast" or "quota" (`reason`).
async fn rest(
    cx: Delivering<'_>,
    channel: Channel,
    until: DateTime<Utc>,
    reason: &str,
) -> Result<(), PushError> {
    // A longer rest another worker set (a day's quota) is not cut short by a minute's.
    if resting_until(cx, channel)
        .await?
        .is_some_and(|(resting, _)| resting >= until)
    {
        return Ok(());
    }
    let rest = (until - cx.now).to_std().unwrap_or(Duration::from_secs(1));
    cx.store
        .put_credential(
            &rest_key(channel),
            &format!("{} {reason}", until.timestamp_millis()),
            rest,
        )
        .await?;
    tracing::warn!(channel = channel.as_str(), until = %until, "WeChat asked us to slow down: the channel rests");
    Ok(())
}

/// Marks deliveries sent, each with WeChat's msgid (a template message's), in one statement.
async fn record_sent(
    conn: &impl ConnectionTrait,
    sent: &[(Claim, Option<String>)],
    now: DateTime<Utc>,
) -> Result<(), PushError> {
    use push_deliveries::Column;
    for chunk in sent.chunks(200) {
        let Some(((first, first_msg), rest)) = chunk.split_first() else {
            continue;
        };
        let msg_ids = rest
            .iter()
            .fold(
                Expr::case(Column::Id.eq(first.id), first_msg.clone()),
                |case, (claim, msg_id)| case.case(Column::Id.eq(claim.id), msg_id.clone()),
            )
            .finally(Option::<String>::None);
        let claims: Vec<Claim> = chunk.iter().map(|(claim, _)| *claim).collect();
        push_deliveries::Entity::update_many()
            .col_expr(Column::Status, Expr::value(state::SENT))
            .col_expr(Column::Reason, Expr::value(Option::<String>::None))
            .col_expr(Column::MsgId, msg_ids.into())
            .col_expr(Column::SentAt, Expr::value(now))
            .filter(Claim::held(&claims))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Marks a claimed delivery `calling` (its time the call's); `false` when the claim no longer holds it.
async fn mark_calling(
    db: &DatabaseConnection,
    claim: Claim,
    now: DateTime<Utc>,
) -> Result<bool, PushError> {
    let marked = push_deliveries::Entity::update_many()
        .col_expr(push_deliveries::Column::Status, Expr::value(state::CALLING))
        .col_expr(push_deliveries::Column::SentAt, Expr::value(now))
        .filter(Claim::held(&[claim]))
        .filter(push_deliveries::Column::Status.eq(state::SENDING))
        .exec(db)
        .await?;
    Ok(marked.rows_affected == 1)
}

/// Decides every claimed delivery and, in one transaction, spends the sends' limits (each send all of its
/// limits, or, one used up, none) and writes the skips and holds. A delivery skipped now that had spent its
/// limits on a try that never called WeChat gives them back (into `back`).
async fn prepare(
    cx: Delivering<'_>,
    claimed: &[push_deliveries::Model],
    pass: &mut Pass,
    back: &mut GivingBack,
) -> Result<Vec<Decision>, PushError> {
    let mut pushes = HashMap::new();
    for delivery in claimed {
        if let std::collections::hash_map::Entry::Vacant(entry) = pushes.entry(delivery.push_id) {
            entry.insert(saved::find_by_id(cx.db, delivery.push_id).await?);
        }
    }
    let user_ids: Vec<i64> = claimed.iter().map(|delivery| delivery.user_id).collect();
    let targets: HashMap<i64, PushTarget> = push_targets(cx.db, &user_ids)
        .await?
        .into_iter()
        .map(|target| (target.user_id, target))
        .collect();
    let mut rests = HashMap::new();
    let mut decisions = Vec::with_capacity(claimed.len());
    for delivery in claimed {
        let push = &pushes[&delivery.push_id];
        let channel = saved::channel(push);
        if let std::collections::hash_map::Entry::Vacant(entry) = rests.entry(channel) {
            entry.insert(resting_until(cx, channel).await?);
        }
        let decision = decide(
            cx,
            push,
            delivery,
            targets.get(&delivery.user_id),
            rests[&channel],
        )
        .await?;
        decisions.push(decision);
    }
    // Every send's limits in one transaction, a few statements for the batch: all of a send's, or none. First
    // the claims, locked: one `release` took back meanwhile (this worker was too slow) is left alone.
    let txn = crate::db::begin_write(cx.db).await?;
    let claims: Vec<Claim> = claimed.iter().map(Claim::of).collect();
    let still_held: std::collections::HashSet<i64> = push_deliveries::Entity::find()
        .select_only()
        .column(push_deliveries::Column::Id)
        .filter(Claim::held(&claims))
        .lock_exclusive()
        .into_tuple::<i64>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    for (delivery, decision) in claimed.iter().zip(decisions.iter_mut()) {
        if !still_held.contains(&delivery.id) {
            *decision = Decision::Lost;
        }
    }
    let asking: Vec<usize> = (0..decisions.len())
        .filter(|at| claimed[*at].spent_at.is_none() && matches!(decisions[*at], Decision::Send(_)))
        .collect();
    let spends: Vec<Spend> = asking
        .iter()
        .filter_map(|at| match &decisions[*at] {
            Decision::Send(send) => Some(send.spend.clone()),
            _ => None,
        })
        .collect();
    let refusals = limits::spend_all(&txn, &spends).await?;
    let mut spent_now = Vec::new();
    for (at, refusal) in asking.into_iter().zip(refusals) {
        match refusal {
            None => spent_now.push(claimed[at].id),
            // The account's day is used up: tomorrow's quota sends it.
            Some(reason @ "template_daily_cap") => {
                let tomorrow = limits::open_after(cx.settings, limits::next_midnight(cx.now));
                decisions[at] = Decision::Hold(reason, tomorrow);
            }
            Some(reason) => decisions[at] = Decision::Skip(reason),
        }
    }
    mark_spent(&txn, &spent_now, cx.now).await?;
    for (delivery, decision) in claimed.iter().zip(&decisions) {
        // Spent on a try that never called WeChat (any channel but a template, which may have been sent
        // before its answer was lost): skipped now, it gives that back.
        let push = &pushes[&delivery.push_id];
        let channel = saved::channel(push);
        let variant = saved::variants(push)
            .into_iter()
            .find(|variant| variant.name == delivery.variant);
        let give_back = match (decision, &variant) {
            (Decision::Skip(_), Some(variant))
                if delivery.spent_at.is_some() && channel != Channel::Template =>
            {
                Some(spend_of(cx, channel, variant, delivery))
            }
            _ => None,
        };
        let put = put_aside(&txn, Claim::of(delivery), decision, give_back.is_some()).await?;
        if let Some(outcome) = put {
            pass.count(outcome);
            back.spends.extend(give_back);
        }
    }
    txn.commit().await?;
    Ok(decisions)
}

/// Puts claimed deliveries back (`sending` -> `queued`, the try not counted) when no call was made: the
/// queue message, if not acked, sends them; `release` queues again what waits longer. If even this fails,
/// `release` finds them stale and does the same.
async fn unclaim(db: &DatabaseConnection, claimed: &[push_deliveries::Model]) {
    if claimed.is_empty() {
        return;
    }
    let claims: Vec<Claim> = claimed.iter().map(Claim::of).collect();
    let put_back = push_deliveries::Entity::update_many()
        .col_expr(push_deliveries::Column::Status, Expr::value(state::QUEUED))
        .col_expr(
            push_deliveries::Column::Attempts,
            Expr::col(push_deliveries::Column::Attempts).sub(1),
        )
        .filter(Claim::held(&claims))
        .filter(push_deliveries::Column::Status.eq(state::SENDING))
        .exec(db)
        .await;
    if let Err(error) = put_back {
        tracing::error!(
            ?error,
            "claimed deliveries could not be put back: release will"
        );
    }
}

/// Until when the channel rests after WeChat asked us to slow down, if it does.
/// A channel's rest: until when, and why (`wechat_quota` or `wechat_rate`, the hold's reason).
type Rest = (DateTime<Utc>, &'static str);

async fn resting_until(cx: Delivering<'_>, channel: Channel) -> Result<Option<Rest>, PushError> {
    let Some(value) = cx.store.credential(&rest_key(channel)).await? else {
        return Ok(None);
    };
    let (until, reason) = value.split_once(' ').unwrap_or((value.as_str(), ""));
    let reason = match reason {
        "wechat_quota" => "wechat_quota",
        _ => "wechat_rate",
    };
    Ok(until
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .map(|until| (until, reason)))
}

/// Every check before a send: the push still on, the quiet hours, the channel's rest, the customer's
/// standing, the channel's reach.
async fn decide(
    cx: Delivering<'_>,
    push: &pushes::Model,
    delivery: &push_deliveries::Model,
    target: Option<&PushTarget>,
    rest: Option<Rest>,
) -> Result<Decision, PushError> {
    if push.status == status::CANCELLED {
        return Ok(Decision::Skip("cancelled"));
    }
    let channel = saved::channel(push);
    // A template message tried before without an answer may have reached the customer: past WeChat's window
    // for dropping its repeat, it is not risked again.
    if channel == Channel::Template
        && delivery
            .spent_at
            .is_some_and(|tried| cx.now - tried > TEMPLATE_REPEAT_WINDOW)
    {
        return Ok(Decision::Skip("no_answer"));
    }
    if let Some(until) = limits::quiet_until(cx.settings, cx.now) {
        // Only a first try is dropped: one held for a quota or a rate and let out into the quiet hours is
        // owed its send, so it waits.
        let first_try = delivery.attempts <= 1;
        return Ok(match QuietHours::parse(&push.quiet_hours) {
            QuietHours::Drop if first_try => Decision::Skip("quiet_hours"),
            _ => Decision::Hold("quiet_hours", until),
        });
    }
    // The rest's own end is the word (its store key may outlive it by a moment).
    if let Some((until, reason)) = rest.filter(|(until, _)| *until > cx.now) {
        return Ok(Decision::Hold(reason, until));
    }
    let Some(target) = target.filter(|target| !target.disabled) else {
        return Ok(Decision::Skip("account_disabled"));
    };
    if target.opted_out {
        return Ok(Decision::Skip("opted_out"));
    }
    let variant = saved::variants(push)
        .into_iter()
        .find(|variant| variant.name == delivery.variant);
    let Some(variant) = variant else {
        return Ok(Decision::Skip("variant_removed"));
    };
    let openid = match channel {
        Channel::Subscribe => target.mp_openid.clone(),
        _ => target.oa_openid.clone().filter(|_| target.following),
    };
    let Some(openid) = openid else {
        return Ok(Decision::Skip(match channel {
            Channel::Subscribe => "no_mini_program",
            _ => "not_following",
        }));
    };
    if channel == Channel::CustomerService {
        match open_interaction(cx.db, &openid, cx.now).await? {
            None => return Ok(Decision::Skip("outside_window")),
            Some(interaction) if !interaction.by_message => {
                let since = sent_since(cx.db, delivery, interaction.at).await?;
                if since >= EVENT_WINDOW_MESSAGES {
                    return Ok(Decision::Skip("outside_window"));
                }
            }
            Some(_) => {}
        }
    }
    Ok(Decision::Send(Box::new(Send {
        channel,
        spend: spend_of(cx, channel, &variant, delivery),
        variant,
        openid,
    })))
}

/// What a delivery's send spends (or spent, from its `spent_at`): its counted limits, and for a subscribe
/// message one consent to its variant's template.
fn spend_of(
    cx: Delivering<'_>,
    channel: Channel,
    variant: &Variant,
    delivery: &push_deliveries::Model,
) -> Spend {
    Spend {
        limits: limits_for(
            cx.settings,
            channel,
            delivery.user_id,
            delivery.spent_at.unwrap_or(cx.now),
        ),
        consent: (channel == Channel::Subscribe).then(|| {
            (
                delivery.user_id,
                variant.template_id.clone().unwrap_or_default(),
            )
        }),
    }
}

/// Customer-service messages sent (or in their call, by this worker or another) to the delivery's customer
/// since `since`, the delivery itself aside.
async fn sent_since(
    conn: &impl ConnectionTrait,
    delivery: &push_deliveries::Model,
    since: DateTime<Utc>,
) -> Result<u64, PushError> {
    use sea_orm::PaginatorTrait;
    let cs_pushes = sea_orm::sea_query::Query::select()
        .column(pushes::Column::Id)
        .from(pushes::Entity)
        .and_where(pushes::Column::Channel.eq(Channel::CustomerService.as_str()))
        .to_owned();
    Ok(push_deliveries::Entity::find()
        .filter(push_deliveries::Column::UserId.eq(delivery.user_id))
        .filter(push_deliveries::Column::Id.ne(delivery.id))
        .filter(push_deliveries::Column::Status.is_in([state::SENT, state::CALLING]))
        .filter(push_deliveries::Column::SentAt.gte(since))
        .filter(push_deliveries::Column::PushId.in_subquery(cs_pushes))
        .count(conn)
        .await?)
}

/// Calls WeChat; a template message's msgid is what its job report names.
async fn call(
    cx: Delivering<'_>,
    channel: Channel,
    variant: &Variant,
    openid: &str,
    delivery: &push_deliveries::Model,
) -> Result<Option<String>, WeChatError> {
    match channel {
        Channel::Subscribe => {
            let message = SubscribeMessage {
                touser: openid.to_owned(),
                template_id: variant.template_id.clone().unwrap_or_default(),
                page: variant.page.clone(),
                data: delivery.fields.clone(),
                miniprogram_state: cx.settings.miniprogram_state.clone(),
            };
            cx.wechat.send_subscribe_message(&message).await?;
            Ok(None)
        }
        Channel::Template => {
            let mini_program = cx.wechat.app_id(App::MiniProgram).to_owned();
            let message = TemplateMessage {
                touser: openid.to_owned(),
                template_id: variant.template_id.clone().unwrap_or_default(),
                url: variant.url.clone(),
                miniprogram: variant
                    .page
                    .as_ref()
                    .map(|page| json!({ "appid": mini_program, "pagepath": page })),
                // WeChat drops a repeat of this id: what makes a retry after a lost answer safe.
                client_msg_id: format!("wxc-d{}", delivery.id),
                data: delivery.fields.clone(),
            };
            Ok(Some(
                cx.wechat.send_template_message(&message).await?.to_string(),
            ))
        }
        Channel::CustomerService => {
            let text = delivery.fields["text"].as_str().unwrap_or_default();
            cx.wechat.send_custom_text(openid, text).await?;
            Ok(None)
        }
        Channel::Mass => Err(WeChatError::Decode(
            "a mass send goes to its tag, not one by one".into(),
        )),
    }
}

/// What a batch gives back once its answers are in: what refused sends spent, and the consents WeChat said
/// are gone (43101).
#[derive(Default)]
struct GivingBack {
    spends: Vec<Spend>,
    consents_gone: Vec<(i64, String)>,
}

/// What becomes of a send WeChat refused or did not answer: held for a retry, or failed.
struct Failure {
    outcome: Outcome,
    reason: &'static str,
    errcode: Option<i64>,
    until: Option<DateTime<Utc>>,
    /// Nothing reached the customer: what it spent is given back (and `spent_at` cleared).
    refused: bool,
    /// WeChat asked us to slow down: the channel rests until then, for this reason.
    rest: Option<(Channel, DateTime<Utc>, &'static str)>,
    /// What comes back once this is recorded: what the send spent, and a consent WeChat says is gone.
    gives_back: Option<Spend>,
    consent_gone: Option<(i64, String)>,
}

impl Failure {
    /// Writes it, if the claim still holds the delivery (then what it gives back goes into `back`).
    async fn record(
        &self,
        conn: &impl ConnectionTrait,
        claim: Claim,
        back: &mut GivingBack,
    ) -> Result<Option<Outcome>, PushError> {
        let to = match self.outcome {
            Outcome::Held => state::HELD,
            _ => state::FAILED,
        };
        let recorded = settle(conn, claim, to, Some(self.reason), |row| {
            row.not_before = Set(self.until);
            row.errcode = Set(self.errcode.and_then(|code| i32::try_from(code).ok()));
            if self.refused {
                row.spent_at = Set(None);
            }
        })
        .await?;
        if !recorded {
            return Ok(None);
        }
        back.spends.extend(self.gives_back.clone());
        back.consents_gone.extend(self.consent_gone.clone());
        Ok(Some(self.outcome))
    }
}

/// WeChat refused (`errcode`, `None` without an answer), or the send was not tried (`rested`: WeChat had just
/// refused another for its rate or quota): a retry later (quota, rate, a template's lost answer) or a failure
/// counted by its errcode. Refused or never tried, nothing reached the customer, so what the send spent is
/// given back (into `back`); without an answer it may have: it stays spent (and a retry does not spend it
/// again).
fn failed(
    cx: Delivering<'_>,
    send: &Send,
    attempts: i32,
    errcode: Option<i64>,
    rested: bool,
) -> Failure {
    let refused = rested || errcode.is_some();
    let mut gives_back = refused.then(|| send.spend.clone());
    // The customer has no consent left at WeChat's end, whatever we counted.
    let consent_gone = match (errcode, gives_back.as_mut()) {
        (Some(43101), Some(spend)) => spend.consent.take(),
        _ => None,
    };
    let failure = |outcome, reason, errcode, until| Failure {
        outcome,
        reason,
        errcode,
        until,
        refused,
        rest: None,
        gives_back: gives_back.clone(),
        consent_gone: consent_gone.clone(),
    };
    match errcode {
        Some(code @ (45009 | 45011)) => {
            let (reason, until) = match code {
                // The day's quota is gone: tomorrow.
                45009 => (
                    "wechat_quota",
                    limits::open_after(cx.settings, limits::next_midnight(cx.now)),
                ),
                _ => (
                    "wechat_rate",
                    cx.now + chrono::Duration::seconds(cx.settings.rate_backoff_secs as i64),
                ),
            };
            Failure {
                rest: (!rested).then_some((send.channel, until, reason)),
                ..failure(Outcome::Held, reason, None, Some(until))
            }
        }
        Some(43101) => failure(Outcome::Failed, "no_consent", Some(43101), None),
        Some(43004) => failure(Outcome::Failed, "not_following", Some(43004), None),
        Some(code) => failure(Outcome::Failed, "wechat_error", Some(code), None),
        // No answer: a template message may be sent again safely (its client_msg_id); another is not
        // risked twice.
        None if send.channel == Channel::Template && attempts < 5 => failure(
            Outcome::Held,
            "no_answer",
            None,
            Some(cx.now + chrono::Duration::seconds(30)),
        ),
        None => failure(Outcome::Failed, "no_answer", None, None),
    }
}

/// What `release` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    pub due: u64,
    pub requeued: u64,
    pub interrupted: u64,
    pub finished: u64,
    pub started: u64,
    /// Fan-outs that had stopped, taken up again.
    pub resumed: u64,
}

/// The deliveries' clock, on any instance (the `push.release` job): held deliveries whose time came go back on
/// the queue; queued ones nobody took for a while are queued again (a flushed store loses no delivery: a
/// second message for one is harmless, the claim lets one through); a delivery whose worker died is queued
/// again if it was never tried or is a template message, else counted `interrupted`; a fan-out that stopped is
/// resumed; scheduled pushes whose time came start; pushes fanned out with nothing left to send are marked
/// sent.
pub async fn release(
    cx: Delivering<'_>,
    settings: &crate::config::Settings,
) -> Result<Released, PushError> {
    use push_deliveries::Column;
    let mut released = Released::default();
    let due: Vec<(i64, i64)> = push_deliveries::Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::PushId)
        .filter(Column::Status.eq(state::HELD))
        .filter(Column::NotBefore.lte(cx.now))
        .limit(5_000)
        .into_tuple()
        .all(cx.db)
        .await?;
    requeue(cx, &due, state::HELD).await?;
    released.due = due.len() as u64;
    let stale: Vec<(i64, i64)> = push_deliveries::Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::PushId)
        .filter(Column::Status.eq(state::QUEUED))
        .filter(Column::QueuedAt.lt(cx.now - STALE_QUEUED))
        .limit(5_000)
        .into_tuple()
        .all(cx.db)
        .await?;
    requeue(cx, &stale, state::QUEUED).await?;
    released.requeued = stale.len() as u64;
    type CutOff = (i64, i32, i64, String);
    let cut_off: Vec<CutOff> = push_deliveries::Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Attempts)
        .column(Column::PushId)
        .column(Column::Status)
        .filter(Column::Status.is_in([state::SENDING, state::CALLING]))
        .filter(Column::SentAt.lt(cx.now - STALE_SENDING))
        .limit(5_000)
        .into_tuple()
        .all(cx.db)
        .await?;
    let mut channels = HashMap::new();
    let mut mass_sending = HashMap::new();
    let mut mass_again = std::collections::BTreeSet::new();
    for (id, attempt, push_id, status) in cut_off {
        let claim = Claim { id, attempt };
        if let std::collections::hash_map::Entry::Vacant(entry) = channels.entry(push_id) {
            entry.insert(saved::channel(&saved::find_by_id(cx.db, push_id).await?));
        }
        let channel = channels[&push_id];
        if channel == Channel::Mass {
            // A long mass send holds its push's lock: its deliveries are its own until it lets go.
            if let std::collections::hash_map::Entry::Vacant(entry) = mass_sending.entry(push_id) {
                entry.insert(super::mass::in_progress(cx.store, push_id).await?);
            }
            if mass_sending[&push_id] {
                continue;
            }
        }
        // Never called (not marked calling), or a template message (its client_msg_id makes WeChat drop a
        // repeat): queued again, spending nothing twice. One cut off during its call may have been sent: it
        // is not risked twice.
        let maybe_sent = channel != Channel::Template && status == state::CALLING;
        if !maybe_sent {
            let taken_back = settle(cx.db, claim, state::QUEUED, None, |row| {
                row.queued_at = Set(cx.now);
            })
            .await?;
            // Its worker answered meanwhile: nothing to take back.
            if !taken_back {
                continue;
            }
            match channel {
                Channel::Mass => {
                    mass_again.insert(push_id);
                }
                _ => fanout::enqueue(cx.store, &[id]).await?,
            }
            released.requeued += 1;
        } else if settle(cx.db, claim, state::FAILED, Some("interrupted"), |_| {}).await? {
            released.interrupted += 1;
        }
    }
    // One message a mass push, however many of its deliveries came back.
    let messages: Vec<String> = mass_again.into_iter().map(super::mass::message).collect();
    cx.store.enqueue(QUEUE, &messages).await?;
    released.resumed = fanout::resume_stalled(cx.db, cx.store, settings, cx.now).await;
    let due_pushes = pushes::Entity::find()
        .filter(pushes::Column::Status.eq(status::SCHEDULED))
        .filter(pushes::Column::ScheduledFor.lte(cx.now))
        .all(cx.db)
        .await?;
    for push in due_pushes {
        let slug = push.slug.clone();
        let id = push.id;
        // A push that cannot start is closed with the reason logged; one failing never holds up the others.
        let closed = match fanout::start(cx.db, cx.store, settings, None, push, cx.now).await {
            Ok(_) => {
                released.started += 1;
                None
            }
            Err(PushError::SegmentEmpty) => Some(status::SENT),
            Err(PushError::Segment(error)) => {
                tracing::error!(push = %slug, %error, "a scheduled push's segment cannot be read: cancelled");
                Some(status::CANCELLED)
            }
            Err(error) => {
                tracing::error!(push = %slug, ?error, "a scheduled push did not start, or its fan-out stopped: tried again");
                None
            }
        };
        if let Some(closed) = closed {
            tracing::warn!(push = %slug, closed, "a scheduled push sent nothing");
            pushes::Entity::update_many()
                .col_expr(pushes::Column::Status, Expr::value(closed))
                .col_expr(pushes::Column::FinishedAt, Expr::value(cx.now))
                .filter(pushes::Column::Id.eq(id))
                .filter(pushes::Column::Status.eq(status::SCHEDULED))
                .exec(cx.db)
                .await?;
        }
    }
    let sending = pushes::Entity::find()
        .filter(pushes::Column::Status.eq(status::SENDING))
        .all(cx.db)
        .await?;
    for push in sending {
        if push.fanned_out_at.is_none() {
            continue;
        }
        let counts = super::counts::of(cx.db, push.id).await?;
        if counts.settled() && counts.held == 0 {
            pushes::Entity::update_many()
                .col_expr(pushes::Column::Status, Expr::value(status::SENT))
                .col_expr(pushes::Column::FinishedAt, Expr::value(cx.now))
                .filter(pushes::Column::Id.eq(push.id))
                .filter(pushes::Column::Status.eq(status::SENDING))
                .exec(cx.db)
                .await?;
            released.finished += 1;
        }
    }
    Ok(released)
}

/// Moves deliveries (id, push) from `from` back to queued and puts them on the queue: a mass push's as one
/// message for the push.
async fn requeue(cx: Delivering<'_>, due: &[(i64, i64)], from: &str) -> Result<(), PushError> {
    let mut mass_pushes = std::collections::BTreeSet::new();
    let mut channels = HashMap::new();
    for chunk in due.chunks(500) {
        push_deliveries::Entity::update_many()
            .col_expr(push_deliveries::Column::Status, Expr::value(state::QUEUED))
            .col_expr(push_deliveries::Column::QueuedAt, Expr::value(cx.now))
            .filter(push_deliveries::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .filter(push_deliveries::Column::Status.eq(from))
            .exec(cx.db)
            .await?;
        let mut one_by_one = Vec::new();
        for (id, push_id) in chunk {
            if let std::collections::hash_map::Entry::Vacant(entry) = channels.entry(*push_id) {
                entry.insert(saved::channel(&saved::find_by_id(cx.db, *push_id).await?));
            }
            if channels[push_id] == Channel::Mass {
                mass_pushes.insert(*push_id);
            } else {
                one_by_one.push(*id);
            }
        }
        fanout::enqueue(cx.store, &one_by_one).await?;
    }
    let messages: Vec<String> = mass_pushes.into_iter().map(super::mass::message).collect();
    cx.store.enqueue(QUEUE, &messages).await?;
    Ok(())
}

/// WeChat's job report on a template message (TEMPLATESENDJOBFINISH), by its msgid: one cheap update on the
/// callback's own transaction.
pub async fn record_report(
    conn: &impl ConnectionTrait,
    msg_id: &str,
    report: &str,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    push_deliveries::Entity::update_many()
        .col_expr(push_deliveries::Column::Report, Expr::value(clip(report)))
        .col_expr(push_deliveries::Column::ReportedAt, Expr::value(at))
        .filter(push_deliveries::Column::MsgId.eq(msg_id))
        .exec(conn)
        .await?;
    Ok(())
}

fn clip(text: &str) -> String {
    text.chars().take(32).collect()
}
