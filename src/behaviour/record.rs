//! Recording a batch of reported events: all of them or, on any problem, none.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};

use crate::calendar::Status;
use crate::campaigns::gate;
use crate::config::BehaviourSettings;
use crate::entities::behaviour_events;
use crate::error::{AppError, ErrorCode};
use crate::users;

/// The kinds a page may report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    /// A page was shown: `page` names it.
    PageView,
    /// A piece of content was shown: `category` (one of the configured ones) and, optionally, `content`.
    ContentView,
}

impl ViewKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ViewKind::PageView => "page_view",
            ViewKind::ContentView => "content_view",
        }
    }

    pub fn parse(text: &str) -> Option<ViewKind> {
        [ViewKind::PageView, ViewKind::ContentView]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// One event as the page reports it. The time is the server's: a phone's clock is not evidence.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedEvent {
    pub kind: ViewKind,
    /// The mini-program route or H5 path, `pages/tasks/index`: 1-64 of a-z, 0-9, `_`, `-`, `/`, `.`.
    pub page: Option<String>,
    pub category: Option<String>,
    /// The content's id, as the tasks' contents name it.
    pub content: Option<String>,
    /// The campaign the page belongs to, by slug.
    pub campaign: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    pub events: Vec<ReportedEvent>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Recorded {
    pub recorded: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BehaviourError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for BehaviourError {
    fn from(error: DbErr) -> Self {
        BehaviourError::Unexpected(error.into())
    }
}

impl From<BehaviourError> for AppError {
    fn from(error: BehaviourError) -> Self {
        match error {
            BehaviourError::Invalid { field, message } => {
                AppError::new(ErrorCode::InvalidEvents, format!("{field}: {message}"))
                    .with_field(field)
            }
            BehaviourError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

fn invalid(index: usize, name: &str, message: impl Into<String>) -> BehaviourError {
    BehaviourError::Invalid {
        field: format!("events[{index}].{name}"),
        message: message.into(),
    }
}

/// A name made of `allowed` characters, 1 to 64 long.
fn well_formed(text: &str, allowed: impl Fn(char) -> bool) -> bool {
    (1..=64).contains(&text.len()) && text.chars().all(allowed)
}

fn page_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '/' | '.')
}

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}

/// Records `batch` for `user_id` at `now`, in one transaction; a batch with any problem records nothing.
pub async fn record(
    db: &DatabaseConnection,
    settings: &BehaviourSettings,
    user_id: i64,
    batch: &EventBatch,
    now: DateTime<Utc>,
) -> Result<Recorded, BehaviourError> {
    let events = &batch.events;
    if events.is_empty() || events.len() > settings.max_events_per_request {
        return Err(BehaviourError::Invalid {
            field: "events".into(),
            message: format!("1 to {} events a request", settings.max_events_per_request),
        });
    }
    let mut rows = Vec::with_capacity(events.len());
    let mut campaigns: Vec<(String, i64)> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        if let Some(page) = &event.page {
            if !well_formed(page, page_char) {
                return Err(invalid(
                    index,
                    "page",
                    "1-64 of a-z, 0-9, '_', '-', '/', '.'",
                ));
            }
        }
        if let Some(content) = &event.content {
            if !well_formed(content, id_char) {
                return Err(invalid(index, "content", "1-64 of A-Z, a-z, 0-9, '_', '-'"));
            }
        }
        match event.kind {
            ViewKind::PageView if event.page.is_none() => {
                return Err(invalid(index, "page", "a page_view names its page"));
            }
            ViewKind::PageView if event.category.is_some() || event.content.is_some() => {
                return Err(invalid(
                    index,
                    "kind",
                    "a page_view has no category or content",
                ));
            }
            ViewKind::ContentView => {
                let known = event
                    .category
                    .as_ref()
                    .is_some_and(|c| settings.content_categories.contains(c));
                if !known {
                    return Err(invalid(
                        index,
                        "category",
                        format!(
                            "a content_view names one of {}",
                            settings.content_categories.join(", ")
                        ),
                    ));
                }
            }
            ViewKind::PageView => {}
        }
        let campaign_id = match &event.campaign {
            None => None,
            Some(slug) => match campaigns.iter().find(|(s, _)| s == slug) {
                Some((_, id)) => Some(*id),
                None => {
                    // A draft is nobody's to see: as unknown as a slug that names nothing.
                    let found = gate::find_campaign(db, slug)
                        .await?
                        .filter(|c| c.status != Status::Draft.as_str());
                    let id = found
                        .ok_or_else(|| invalid(index, "campaign", "no such campaign"))?
                        .id;
                    campaigns.push((slug.clone(), id));
                    Some(id)
                }
            },
        };
        rows.push(behaviour_events::ActiveModel {
            user_id: Set(user_id),
            kind: Set(event.kind.as_str().into()),
            page: Set(event.page.clone()),
            category: Set(event.category.clone()),
            content: Set(event.content.clone()),
            campaign_id: Set(campaign_id),
            occurred_at: Set(now),
            ..Default::default()
        });
    }
    let txn = crate::db::begin_write(db).await?;
    behaviour_events::Entity::insert_many(rows)
        .exec_without_returning(&txn)
        .await?;
    users::service::touch_active(&txn, user_id, now).await?;
    txn.commit().await?;
    Ok(Recorded {
        recorded: events.len(),
    })
}

/// Deletes the events older than the retention; returns how many went.
pub async fn purge(
    db: &DatabaseConnection,
    settings: &BehaviourSettings,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let cutoff = now - Duration::days(i64::from(settings.retention_days));
    Ok(behaviour_events::Entity::delete_many()
        .filter(behaviour_events::Column::OccurredAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
