//! The callback's durable record, group-committed. Concurrent messages hand their work to a writer task, which
//! records everything queued (up to `MAX_BATCH` messages) in one transaction and answers each message after that
//! commit. So every message is still in the database before we answer WeChat, but a burst shares one commit (one
//! fsync) instead of paying one each. Nothing waits to fill a batch: at low load a batch is one message; under
//! load the messages that queued while one batch committed make the next.
//!
//! On PostgreSQL a few writers take batches side by side (`POSTGRES_WRITERS`); on SQLite one does.
//!
//! A batch that fails is recorded again one message per transaction, so one bad message cannot fail the others;
//! a database that is down fails them all at once (503, WeChat retries).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, Set, TryInsertResult,
};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::auto_reply::Rules;
use super::dispatch::{self, Answer, Handling};
use crate::clock::SharedClock;
use crate::entities::wechat_inbox;
use crate::error::AppError;
use crate::telemetry::mask_openid;
use crate::wechat::message::Inbound;

/// The most messages one transaction records: bounds how long a batch holds its locks.
const MAX_BATCH: usize = 256;
/// Writers taking batches side by side on PostgreSQL: one writer's statements go one after another on one
/// connection, so one writer alone is bound by round trips, not by the commit it shares. SQLite takes one writer
/// at a time whatever we do, so it gets one.
const POSTGRES_WRITERS: usize = 4;
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
    /// Starts the writers on the current Tokio runtime. They hold at most half of the `pool_size` connections,
    /// so the rest of the application keeps the other half under a burst of messages.
    pub fn spawn(
        db: DatabaseConnection,
        pool_size: u32,
        clock: SharedClock,
        handlers: Vec<Arc<dyn dispatch::InboundHandler>>,
    ) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE_DEPTH);
        let pending = Arc::new(Mutex::new(pending));
        let writers = match db.get_database_backend() {
            DbBackend::Sqlite => 1,
            _ => POSTGRES_WRITERS.min(pool_size as usize / 2).max(1),
        };
        let writer = Writer {
            db,
            clock,
            handlers: Arc::new(handlers),
        };
        for _ in 0..writers {
            tokio::spawn(write_batches(writer.clone(), pending.clone()));
        }
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

/// What a writer writes with.
#[derive(Clone)]
struct Writer {
    db: DatabaseConnection,
    clock: SharedClock,
    /// The handlers of domains above this one (pushes), run after the callback's own.
    handlers: Arc<Vec<Arc<dyn dispatch::InboundHandler>>>,
}

/// Takes what is queued (the queue is held only while taking, so another writer takes the next batch while
/// this one writes) and writes it, until every handle is gone.
async fn write_batches(writer: Writer, pending: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let taken = pending.lock().await.recv_many(&mut batch, MAX_BATCH).await;
        if taken == 0 {
            return;
        }
        // A batch that panics drops its callers' answers (each gets a 500, WeChat retries) but not the writer.
        let writer = writer.clone();
        if let Err(panicked) =
            tokio::spawn(async move { write_batch(&writer, &mut batch).await }).await
        {
            tracing::error!(error = %panicked, messages = taken, "a batch of messages panicked");
        }
    }
}

async fn write_batch(writer: &Writer, batch: &mut Vec<Pending>) {
    let outcome = async {
        let txn = crate::db::begin_write(&writer.db).await?;
        let recorded = record_batch(writer, &txn, batch).await?;
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
                    error = ?error,
                    "a batch of messages failed; recording them one by one"
                );
                for message in batch.drain(..) {
                    let recorded = record_alone(writer, &message).await;
                    let _ = message.answer.send(recorded);
                }
            }
        }
    }
}

async fn record_alone(writer: &Writer, message: &Pending) -> Result<Recorded, AppError> {
    let txn = crate::db::begin_write(&writer.db).await?;
    let recorded = record_batch(writer, &txn, std::slice::from_ref(message))
        .await
        .map_err(AppError::unexpected)?;
    txn.commit().await?;
    Ok(recorded.into_iter().next().unwrap_or(Recorded::Duplicate))
}

/// A batch in a few statements, whatever its size: the rules read once, every reply chosen from them, every
/// inbox row in one insert (its unique key finds the duplicates, before any handler writes, so a message acts
/// once even if its store claim lapsed and nothing has to be undone), then the handlers' writes of the new ones.
async fn record_batch(
    writer: &Writer,
    txn: &DatabaseTransaction,
    batch: &[Pending],
) -> anyhow::Result<Vec<Recorded>> {
    let rules = Rules::load(txn).await?;
    let answers: Vec<Option<Answer>> = batch
        .iter()
        .map(|message| dispatch::reply(&rules, &message.inbound))
        .collect();
    // A second copy of a message in the same batch is a duplicate of the first.
    let mut seen = HashSet::new();
    let first: Vec<bool> = batch
        .iter()
        .map(|message| seen.insert(message.dedupe_key.as_str()))
        .collect();
    let now = Utc::now();
    // In key order, so concurrent batches take the unique index's entries in one order too.
    let mut rows: Vec<(&str, wechat_inbox::ActiveModel)> = batch
        .iter()
        .zip(&answers)
        .zip(&first)
        .filter(|(_, first)| **first)
        .map(|((message, answer), _)| {
            (
                message.dedupe_key.as_str(),
                inbox_row(message, answer.as_ref(), now),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    let rows = rows.into_iter().map(|(_, row)| row);
    let inserted: HashSet<String> = match wechat_inbox::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([wechat_inbox::Column::DedupeKey])
        .exec_with_returning_many(txn)
        .await?
    {
        TryInsertResult::Inserted(rows) => rows.into_iter().map(|row| row.dedupe_key).collect(),
        TryInsertResult::Conflicted | TryInsertResult::Empty => HashSet::new(),
    };
    let new: Vec<bool> = batch
        .iter()
        .zip(first)
        .map(|(message, first)| first && inserted.contains(&message.dedupe_key))
        .collect();
    // The handlers' writes in one order in every batch (by follower, then arrival): two writers' batches then
    // lock the same customers' rows in the same order, and wait for each other instead of deadlocking.
    let mut order: Vec<usize> = (0..batch.len()).filter(|&i| new[i]).collect();
    order.sort_by(|&a, &b| batch[a].inbound.from_user.cmp(&batch[b].inbound.from_user));
    let mut handling = Handling {
        txn,
        now: writer.clock.now(),
    };
    for i in order {
        dispatch::handle(&mut handling, &batch[i].inbound).await?;
        for handler in writer.handlers.iter() {
            handler.handle(&mut handling, &batch[i].inbound).await?;
        }
    }
    Ok(batch
        .iter()
        .zip(answers)
        .zip(new)
        .map(|((message, answer), new)| {
            if new {
                Recorded::New(answer)
            } else {
                tracing::info!(openid = %mask_openid(&message.inbound.from_user), "duplicate message already recorded");
                Recorded::Duplicate
            }
        })
        .collect())
}

fn inbox_row(
    message: &Pending,
    answer: Option<&Answer>,
    received_at: chrono::DateTime<Utc>,
) -> wechat_inbox::ActiveModel {
    let inbound = &message.inbound;
    let (msg_type, event, event_key, msg_id) = inbound.inbox_fields();
    wechat_inbox::ActiveModel {
        dedupe_key: Set(message.dedupe_key.clone()),
        openid: Set(inbound.from_user.clone()),
        msg_type: Set(msg_type),
        event: Set(event),
        event_key: Set(event_key),
        msg_id: Set(msg_id),
        reply_rule_id: Set(answer.and_then(|a| a.rule_id)),
        sent_at: Set(Utc
            .timestamp_opt(inbound.create_time, 0)
            .single()
            .unwrap_or(received_at)),
        received_at: Set(received_at),
        ..Default::default()
    }
}

/// The customer's latest interaction that lets us send customer-service messages: a message of theirs (the
/// window is 48 hours) or a menu click, follow or scan (a minute, three messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interaction {
    pub at: chrono::DateTime<Utc>,
    pub by_message: bool,
}

/// The interaction whose window holds `now`, if any.
pub async fn open_interaction(
    conn: &impl sea_orm::ConnectionTrait,
    openid: &str,
    now: chrono::DateTime<Utc>,
) -> Result<Option<Interaction>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let latest = |since: chrono::DateTime<Utc>, events: bool| {
        let query = wechat_inbox::Entity::find()
            .filter(wechat_inbox::Column::Openid.eq(openid))
            .filter(wechat_inbox::Column::SentAt.gte(since))
            .order_by_desc(wechat_inbox::Column::SentAt);
        if events {
            query.filter(wechat_inbox::Column::Event.is_in(["subscribe", "SCAN", "CLICK"]))
        } else {
            query.filter(wechat_inbox::Column::MsgType.ne("event"))
        }
    };
    if let Some(message) = latest(now - chrono::Duration::hours(48), false)
        .one(conn)
        .await?
    {
        return Ok(Some(Interaction {
            at: message.sent_at,
            by_message: true,
        }));
    }
    Ok(latest(now - chrono::Duration::minutes(1), true)
        .one(conn)
        .await?
        .map(|event| Interaction {
            at: event.sent_at,
            by_message: false,
        }))
}
