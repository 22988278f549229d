//! A push's counts, by the database: queued, held, sent, failed by errcode, skipped by reason, what WeChat's
//! job reports said, each by variant too.

use std::collections::BTreeMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;

use super::deliver::state;
use crate::entities::push_deliveries;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PushCounts {
    pub total: u64,
    pub queued: u64,
    /// Waiting for a time: the quiet hours' end, a rate or quota backoff, tomorrow's template quota.
    pub held: u64,
    /// Handed to WeChat, its answer not back yet.
    pub sending: u64,
    pub sent: u64,
    /// By WeChat's errcode (`0` for a failure without one, such as a timeout).
    pub failed: BTreeMap<String, u64>,
    /// By reason: a limit's name, `no_consent`, `not_following`, `opted_out`, `cancelled` ...
    pub skipped: BTreeMap<String, u64>,
    /// Held, by what holds them.
    pub held_by: BTreeMap<String, u64>,
    /// WeChat's job reports (TEMPLATESENDJOBFINISH): `success`, `failed:user block` ...
    pub reported: BTreeMap<String, u64>,
    /// Sent, by variant.
    pub sent_by_variant: BTreeMap<String, u64>,
}

impl PushCounts {
    /// Nothing left to send now (held ones wait for their time).
    pub fn settled(&self) -> bool {
        self.queued == 0 && self.sending == 0
    }
}

type Row = (
    String,
    Option<String>,
    Option<i32>,
    String,
    Option<String>,
    i64,
);

pub async fn of(conn: &impl ConnectionTrait, push_id: i64) -> Result<PushCounts, DbErr> {
    use push_deliveries::Column;
    let rows: Vec<Row> = push_deliveries::Entity::find()
        .select_only()
        .column(Column::Status)
        .column(Column::Reason)
        .column(Column::Errcode)
        .column(Column::Variant)
        .column(Column::Report)
        .column_as(Column::Id.count(), "n")
        .filter(Column::PushId.eq(push_id))
        .group_by(Column::Status)
        .group_by(Column::Reason)
        .group_by(Column::Errcode)
        .group_by(Column::Variant)
        .group_by(Column::Report)
        .into_tuple()
        .all(conn)
        .await?;
    let mut counts = PushCounts::default();
    for (status, reason, errcode, variant, report, n) in rows {
        let n = n.max(0) as u64;
        counts.total += n;
        let reason = reason.unwrap_or_default();
        match status.as_str() {
            state::QUEUED => counts.queued += n,
            state::HELD => {
                counts.held += n;
                *counts.held_by.entry(reason).or_default() += n;
            }
            state::SENDING | state::CALLING => counts.sending += n,
            state::SENT => {
                counts.sent += n;
                *counts.sent_by_variant.entry(variant).or_default() += n;
                if let Some(report) = report {
                    *counts.reported.entry(report).or_default() += n;
                }
            }
            state::FAILED => {
                *counts
                    .failed
                    .entry(errcode.unwrap_or(0).to_string())
                    .or_default() += n;
            }
            _ => *counts.skipped.entry(reason).or_default() += n,
        }
    }
    Ok(counts)
}
