//! The one check every customer action passes: the campaign is live by the clock, its activity's own window is
//! open, and it is not paused. The pause is read from both the store (where the switch lands first, on every
//! instance) and the campaign row (which survives a store flush): either one refuses.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::calendar::{is_live, read_config, ActivityKind};
use crate::entities::{activities, campaigns};
use crate::error::{AppError, ErrorCode};
use crate::store::StateStore;

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("no such campaign")]
    NotFound,
    #[error("the campaign is not live")]
    NotLive,
    #[error("this activity is not open now")]
    ActivityNotLive,
    #[error("the campaign is paused")]
    Paused,
    #[error("no such activity in this campaign")]
    ActivityNotFound,
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<GateError> for AppError {
    fn from(error: GateError) -> Self {
        let message = error.to_string();
        match error {
            GateError::NotFound => AppError::new(ErrorCode::CampaignNotFound, message),
            GateError::NotLive => AppError::new(ErrorCode::CampaignNotLive, message),
            GateError::ActivityNotLive => AppError::new(ErrorCode::ActivityNotLive, message),
            GateError::Paused => AppError::new(ErrorCode::CampaignPaused, message),
            GateError::ActivityNotFound => AppError::new(ErrorCode::ActivityNotFound, message),
            GateError::Db(e) => AppError::unexpected(e),
        }
    }
}

/// Whose window an action is in, besides its campaign's.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The campaign's own (catalogue redemption).
    Campaign,
    /// The lottery or blind-box activity that draws from this pool, if one does.
    Pool(&'a str),
    /// The campaign's activity of this kind (its quiz).
    Kind(ActivityKind),
    /// The campaign's activity with this slug, of this kind (a team or referral activity): refused as
    /// `activity_not_found` when the campaign has none.
    Activity(&'a str, ActivityKind),
    /// The campaign's task or plan activity with this slug.
    Tasks(&'a str),
}

/// The campaign (and activity) an admitted action acts on, so the caller does not read them again.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub campaign: campaigns::Model,
    pub activity: Option<activities::Model>,
}

/// The campaign named `slug`: its one finder.
pub async fn find_campaign(
    conn: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<campaigns::Model>, DbErr> {
    campaigns::Entity::find()
        .filter(campaigns::Column::Slug.eq(slug))
        .one(conn)
        .await
}

/// The campaign with this id (a team's, a poster's): the other finder of the table.
pub async fn find_campaign_by_id(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<campaigns::Model>, DbErr> {
    campaigns::Entity::find_by_id(id).one(conn).await
}

/// The activity with this id.
pub async fn find_activity(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<activities::Model>, DbErr> {
    activities::Entity::find_by_id(id).one(conn).await
}

/// The activities of `kind` whose own window holds `now`, of any campaign (which referral activity a credit
/// counts for).
pub async fn activities_open_at(
    conn: &impl ConnectionTrait,
    kind: ActivityKind,
    now: DateTime<Utc>,
) -> Result<Vec<activities::Model>, DbErr> {
    activities::Entity::find()
        .filter(activities::Column::Kind.eq(kind.as_str()))
        .filter(activities::Column::StartsAt.lte(now))
        .filter(activities::Column::EndsAt.gt(now))
        .all(conn)
        .await
}

/// The campaign's activities of these kinds (every kind when `kinds` is empty), in calendar order.
pub async fn campaign_activities(
    conn: &impl ConnectionTrait,
    campaign_id: i64,
    kinds: &[ActivityKind],
) -> Result<Vec<activities::Model>, DbErr> {
    let mut query =
        activities::Entity::find().filter(activities::Column::CampaignId.eq(campaign_id));
    if !kinds.is_empty() {
        query =
            query.filter(activities::Column::Kind.is_in(kinds.iter().map(ActivityKind::as_str)));
    }
    query
        .order_by_asc(activities::Column::Position)
        .order_by_asc(activities::Column::Id)
        .all(conn)
        .await
}

/// The activities of these kinds, of any campaign, whose window overlaps `[from, to]`.
pub async fn activities_overlapping(
    conn: &impl ConnectionTrait,
    kinds: &[ActivityKind],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<activities::Model>, DbErr> {
    activities::Entity::find()
        .filter(activities::Column::Kind.is_in(kinds.iter().map(ActivityKind::as_str)))
        .filter(activities::Column::StartsAt.lte(to))
        .filter(activities::Column::EndsAt.gt(from))
        .all(conn)
        .await
}

/// Finds the campaign and lets the action through, or says why not.
pub async fn admit(
    conn: &impl ConnectionTrait,
    store: &dyn StateStore,
    slug: &str,
    scope: Scope<'_>,
    now: DateTime<Utc>,
) -> Result<Admitted, GateError> {
    let campaign = find_campaign(conn, slug)
        .await?
        .ok_or(GateError::NotFound)?;
    let activity = check(conn, store, &campaign, scope, now).await?;
    Ok(Admitted { campaign, activity })
}

/// The gate for a campaign the caller already read (inside its own transaction). Returns the scope's activity.
pub async fn check(
    conn: &impl ConnectionTrait,
    store: &dyn StateStore,
    campaign: &campaigns::Model,
    scope: Scope<'_>,
    now: DateTime<Utc>,
) -> Result<Option<activities::Model>, GateError> {
    if !is_live(campaign, now) {
        return Err(GateError::NotLive);
    }
    let activities = scoped_activities(conn, campaign, scope).await?;
    if matches!(scope, Scope::Activity(..) | Scope::Tasks(_)) && activities.is_empty() {
        return Err(GateError::ActivityNotFound);
    }
    if !activities.is_empty() && !activities.iter().any(|a| activity_open(a, now)) {
        return Err(GateError::ActivityNotLive);
    }
    if is_paused(store, campaign).await {
        return Err(GateError::Paused);
    }
    Ok(activities.into_iter().find(|a| activity_open(a, now)))
}

/// Inside the activity's own window.
pub fn activity_open(activity: &activities::Model, now: DateTime<Utc>) -> bool {
    activity.starts_at <= now && now < activity.ends_at
}

/// Whether what customers already did in the campaign must wait to be paid (the task engine's settlement):
/// while it is paused, whatever its window.
pub async fn grants_held(store: &dyn StateStore, campaign: &campaigns::Model) -> bool {
    is_paused(store, campaign).await
}

/// Paused by either the store or the database; a store with no answer leaves the database's word.
pub async fn is_paused(store: &dyn StateStore, campaign: &campaigns::Model) -> bool {
    if campaign.paused {
        return true;
    }
    match store.is_paused(&campaign.slug).await {
        Ok(paused) => paused,
        Err(error) => {
            tracing::warn!(?error, campaign = %campaign.slug, "pause flag unreadable; using the database's");
            false
        }
    }
}

#[derive(serde::Deserialize)]
struct DrawsFrom {
    pool: String,
}

async fn scoped_activities(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
    scope: Scope<'_>,
) -> Result<Vec<activities::Model>, DbErr> {
    let kinds: &[ActivityKind] = match scope {
        Scope::Campaign => return Ok(Vec::new()),
        Scope::Pool(_) => &[ActivityKind::Lottery, ActivityKind::BlindBox],
        Scope::Kind(ref kind) | Scope::Activity(_, ref kind) => std::slice::from_ref(kind),
        Scope::Tasks(_) => &[ActivityKind::Task, ActivityKind::Plan],
    };
    let names: Vec<&str> = kinds.iter().map(ActivityKind::as_str).collect();
    let found = activities::Entity::find()
        .filter(activities::Column::CampaignId.eq(campaign.id))
        .filter(activities::Column::Kind.is_in(names))
        .all(conn)
        .await?;
    Ok(match scope {
        Scope::Pool(pool) => found
            .into_iter()
            .filter(|a| read_config::<DrawsFrom>(&a.config).is_ok_and(|c| c.pool == pool))
            .collect(),
        Scope::Activity(slug, _) | Scope::Tasks(slug) => {
            found.into_iter().filter(|a| a.slug == slug).collect()
        }
        _ => found,
    })
}
