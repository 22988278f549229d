//! The callback's durable record, group-committed. Concurrent messages hand their work to one writer task, which
//! records everything queued (up to `MAX_BATCH` messages) in one transaction and answers each message after that
//! commit. So every message is still in the database before we answer WeChat, but a burst shares one commit (one
//! fsync) instead of paying one each. Nothing waits to fill a batch: at low load a batch is one message; under
//! load the messages that queued while one batch committed make the next.
//!
//! A batch that fails is recorded again one message per transaction, so one bad message cannot fail the others;
//! a database that is down fails them all at once (503, WeChat retries).

use chrono::{TimeZone, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, Set,
};
use tokio::sync::{mpsc, oneshot};

use super::dispatch::{self, Answer};
use crate::entities::wechat_inbox;
use crate::error::AppError;
use crate::telemetry::mask_openid;
use crate::wechat::message::Inbound;

/// The most messages one transaction records: bounds how long a batch holds its locks.
const MAX_BATCH: usize = 256;
/// Messages waiting for the writer; a sender beyond it waits its turn (back-pressure, not an error).
const QUEUE_DEPTH: usize = 4096;

/// What recording one message found.
#[derive(Debug)]
pub enum Recorded {
    /// First time: recorded, handled, and this is the reply the handlers chose (if any).
    New(Option<Answer>),
    /// The inbox already holds it (a retry whose store claim lapsed): nothing was done again.
    Duplicate,
}

struct Pending {
    inbound: Inbound,
    dedupe_key: String,
    answer: oneshot::Sender<Result<Recorded, AppError>>,
}

/// The handle requests use; the writer task lives as long as one handle does.
pub struct InboxWriter {
    queue: mpsc::Sender<Pending>,
}

impl InboxWriter {
    /// Starts the writer on the current Tokio runtime.
    pub fn spawn(db: DatabaseConnection) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(write_batches(db, pending));
        Self { queue }
    }

    /// Records one message and runs its handlers; returns once that is committed.
    pub async fn record(&self, inbound: Inbound, dedupe_key: String) -> Result<Recorded, AppError> {
        let (answer, answered) = oneshot::channel();
        let stopped = || AppError::unexpected(anyhow::anyhow!("the inbox writer has stopped"));
        self.queue
            .send(Pending {
                inbound,
                dedupe_key,
                answer,
            })
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn write_batches(db: DatabaseConnection, mut pending: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write_batch(&db, &mut batch).await;
    }
}

async fn write_batch(db: &DatabaseConnection, batch: &mut Vec<Pending>) {
    let outcome = async {
        let txn = crate::db::begin_write(db).await?;
        let mut recorded = Vec::with_capacity(batch.len());
        for message in batch.iter() {
            recorded.push(record_one(&txn, &message.inbound, &message.dedupe_key).await?);
        }
        txn.commit().await?;
        Ok::<_, anyhow::Error>(recorded)
    }
    .await;
    match outcome {
        Ok(recorded) => {
            for (message, recorded) in batch.drain(..).zip(recorded) {
                let _ = message.answer.send(Ok(recorded));
            }
        }
        Err(error) => {
            let error = AppError::unexpected(error);
            if batch.len() == 1 {
                let message = batch.remove(0);
                let _ = message.answer.send(Err(error));
            } else if error.is_unavailable() {
                for message in batch.drain(..) {
                    let down =
                        anyhow::anyhow!("the database did not answer while recording messages");
                    let _ = message.answer.send(Err(AppError::unavailable(down)));
                }
            } else {
                tracing::warn!(
                    messages = batch.len(),
                    "a batch of messages failed; recording them one by one"
                );
                for message in batch.drain(..) {
                    let recorded = record_alone(db, &message).await;
                    let _ = message.answer.send(recorded);
                }
            }
        }
    }
}

async fn record_alone(db: &DatabaseConnection, message: &Pending) -> Result<Recorded, AppError> {
    let txn = crate::db::begin_write(db).await?;
    let recorded = record_one(&txn, &message.inbound, &message.dedupe_key)
        .await
        .map_err(AppError::unexpected)?;
    txn.commit().await?;
    Ok(recorded)
}

/// The inbox row first: its unique key finds a duplicate before any handler writes, so a message acts once
/// even if its store claim lapsed, and nothing has to be undone.
async fn record_one(
    txn: &DatabaseTransaction,
    inbound: &Inbound,
    dedupe_key: &str,
) -> anyhow::Result<Recorded> {
    let (msg_type, event, event_key, msg_id) = inbound.inbox_fields();
    let row = wechat_inbox::ActiveModel {
        dedupe_key: Set(dedupe_key.to_owned()),
        openid: Set(inbound.from_user.clone()),
        msg_type: Set(msg_type),
        event: Set(event),
        event_key: Set(event_key),
        msg_id: Set(msg_id),
        reply_rule_id: Set(None),
        sent_at: Set(Utc
            .timestamp_opt(inbound.create_time, 0)
            .single()
            .unwrap_or_else(Utc::now)),
        received_at: Set(Utc::now()),
        ..Default::default()
    };
    let inserted = wechat_inbox::Entity::insert(row)
        .on_conflict(
            OnConflict::column(wechat_inbox::Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    if inserted == 0 {
        tracing::info!(openid = %mask_openid(&inbound.from_user), "duplicate message already recorded");
        return Ok(Recorded::Duplicate);
    }
    let answer = dispatch::dispatch(txn, inbound).await?;
    if let Some(rule_id) = answer.as_ref().and_then(|a| a.rule_id) {
        wechat_inbox::Entity::update_many()
            .col_expr(
                wechat_inbox::Column::ReplyRuleId,
                sea_orm::sea_query::Expr::value(rule_id),
            )
            .filter(wechat_inbox::Column::DedupeKey.eq(dedupe_key))
            .exec(txn)
            .await?;
    }
    Ok(Recorded::New(answer))
}
