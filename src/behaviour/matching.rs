//! "Who did X": the customers with matching views, as a subquery of user ids that a segment's rule puts
//! inside its own SQL.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::ColumnTrait;

pub use super::record::ViewKind;
use crate::entities::behaviour_events;

/// What a segment may filter views by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewFilter {
    pub page: Option<String>,
    pub category: Option<String>,
    pub content: Option<String>,
    pub campaign_id: Option<i64>,
    pub since: Option<DateTime<Utc>>,
}

/// `SELECT user_id FROM behaviour_events WHERE ...`: one row per matching view (the caller groups or not).
pub fn views(kind: ViewKind, filter: &ViewFilter) -> SelectStatement {
    use behaviour_events::Column;
    let mut query = Query::select();
    query
        .column(Column::UserId)
        .from(behaviour_events::Entity)
        .and_where(Column::Kind.eq(kind.as_str()));
    if let Some(page) = &filter.page {
        query.and_where(Column::Page.eq(page.as_str()));
    }
    if let Some(category) = &filter.category {
        query.and_where(Column::Category.eq(category.as_str()));
    }
    if let Some(content) = &filter.content {
        query.and_where(Column::Content.eq(content.as_str()));
    }
    if let Some(campaign_id) = filter.campaign_id {
        query.and_where(Column::CampaignId.eq(campaign_id));
    }
    if let Some(since) = filter.since {
        query.and_where(Column::OccurredAt.gte(since));
    }
    query
}

/// Customers with any view of `campaign_id` (a campaign's participants, with the outbox's events).
pub fn viewed_campaign(campaign_id: i64) -> SelectStatement {
    Query::select()
        .column(behaviour_events::Column::UserId)
        .from(behaviour_events::Entity)
        .and_where(behaviour_events::Column::CampaignId.eq(campaign_id))
        .to_owned()
}

/// The customers who viewed content of `category` since `since`, each once, among those `candidates` (a
/// subquery of user ids) selects, at most `limit`.
pub async fn viewers(
    conn: &impl sea_orm::ConnectionTrait,
    category: &str,
    since: DateTime<Utc>,
    candidates: SelectStatement,
    limit: u64,
) -> Result<Vec<i64>, sea_orm::DbErr> {
    use sea_orm::{EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    behaviour_events::Entity::find()
        .select_only()
        .column(behaviour_events::Column::UserId)
        .distinct()
        .filter(behaviour_events::Column::Kind.eq(ViewKind::ContentView.as_str()))
        .filter(behaviour_events::Column::Category.eq(category))
        .filter(behaviour_events::Column::OccurredAt.gte(since))
        .filter(behaviour_events::Column::UserId.in_subquery(candidates))
        .order_by_asc(behaviour_events::Column::UserId)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}
