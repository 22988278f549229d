use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};

use crate::auth::Actor;
use crate::entities::audit_log;

/// One audited change.
pub struct Entry {
    action: &'static str,
    target_type: &'static str,
    target_id: Option<String>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    reason: Option<String>,
}

impl Entry {
    pub fn new(action: &'static str, target_type: &'static str, target_id: String) -> Self {
        Self {
            action,
            target_type,
            target_id: Some(target_id),
            before: None,
            after: None,
            reason: None,
        }
    }

    pub fn before(mut self, value: &impl Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after(mut self, value: &impl Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// Writes the entry on `conn`: pass the transaction that makes the change.
pub async fn record(conn: &impl ConnectionTrait, actor: &Actor, entry: Entry) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        actor_staff_id: Set(actor.staff_id),
        actor: Set(actor.label.clone()),
        action: Set(entry.action.to_owned()),
        target_type: Set(entry.target_type.to_owned()),
        target_id: Set(entry.target_id),
        before: Set(entry.before),
        after: Set(entry.after),
        reason: Set(entry.reason),
        request_id: Set(actor.request_id.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Newest first; pass the last id seen to get the next page.
    pub before_id: Option<i64>,
    pub limit: Option<u64>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
}

pub async fn list(
    db: &DatabaseConnection,
    query: &AuditQuery,
) -> Result<Vec<audit_log::Model>, DbErr> {
    let mut select = audit_log::Entity::find().order_by_desc(audit_log::Column::Id);
    if let Some(before_id) = query.before_id {
        select = select.filter(audit_log::Column::Id.lt(before_id));
    }
    if let Some(target_type) = &query.target_type {
        select = select.filter(audit_log::Column::TargetType.eq(target_type.as_str()));
    }
    if let Some(target_id) = &query.target_id {
        select = select.filter(audit_log::Column::TargetId.eq(target_id.as_str()));
    }
    select
        .limit(query.limit.unwrap_or(50).clamp(1, 500))
        .all(db)
        .await
}
