use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use super::import::{self, CampaignInput, FieldError, ValidCampaign};
use crate::audit::{self, Actor};
use crate::calendar::{shanghai, status_at, Status};
use crate::entities::{activities, campaigns};
use crate::error::{AppError, ErrorCode};
use crate::store::{StateStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("campaign is invalid")]
    Invalid(Vec<FieldError>),
    #[error("the live window overlaps campaign {0}")]
    Overlap(String),
    #[error("a live campaign accepts edits to its name and theme only; its rules, prizes, windows and activities are frozen")]
    Live,
    #[error("{0}")]
    Transition(String),
    #[error("no such campaign")]
    NotFound,
    #[error("a campaign with this slug exists")]
    SlugTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for CampaignError {
    fn from(error: DbErr) -> Self {
        CampaignError::Unexpected(error.into())
    }
}

impl From<CampaignError> for AppError {
    fn from(error: CampaignError) -> Self {
        let message = error.to_string();
        match error {
            CampaignError::Invalid(errors) => {
                let listed = errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                let first = errors.first().map(|e| e.field.clone()).unwrap_or_default();
                AppError::new(ErrorCode::InvalidCampaign, listed).with_field(first)
            }
            CampaignError::Overlap(_) => AppError::new(ErrorCode::WindowOverlap, message),
            CampaignError::Live => AppError::new(ErrorCode::CampaignLive, message),
            CampaignError::Transition(_) => AppError::new(ErrorCode::InvalidTransition, message),
            CampaignError::NotFound => AppError::new(ErrorCode::CampaignNotFound, message),
            CampaignError::SlugTaken => AppError::new(ErrorCode::SlugTaken, message),
            CampaignError::Store(e) => e.into(),
            CampaignError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

/// A campaign as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignView {
    pub slug: String,
    pub name: String,
    pub theme: String,
    pub year: i32,
    pub quarter: i16,
    pub preheat_at: String,
    pub starts_at: String,
    pub ends_at: String,
    pub status: String,
    pub paused: bool,
    pub paused_reason: Option<String>,
    pub rules_text: String,
    pub prize_summary: String,
    pub activities: Vec<ActivityView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActivityView {
    pub slug: String,
    pub kind: String,
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
    pub config: serde_json::Value,
}

impl CampaignView {
    fn new(campaign: &campaigns::Model, activities: &[activities::Model]) -> Self {
        Self {
            slug: campaign.slug.clone(),
            name: campaign.name.clone(),
            theme: campaign.theme.clone(),
            year: campaign.year,
            quarter: campaign.quarter,
            preheat_at: shanghai(campaign.preheat_at),
            starts_at: shanghai(campaign.starts_at),
            ends_at: shanghai(campaign.ends_at),
            status: campaign.status.clone(),
            paused: campaign.paused,
            paused_reason: campaign.paused_reason.clone(),
            rules_text: campaign.rules_text.clone(),
            prize_summary: campaign.prize_summary.clone(),
            activities: activities
                .iter()
                .map(|a| ActivityView {
                    slug: a.slug.clone(),
                    kind: a.kind.clone(),
                    name: a.name.clone(),
                    starts_at: shanghai(a.starts_at),
                    ends_at: shanghai(a.ends_at),
                    config: a.config.clone(),
                })
                .collect(),
        }
    }
}

async fn find(conn: &impl ConnectionTrait, slug: &str) -> Result<Option<campaigns::Model>, DbErr> {
    campaigns::Entity::find()
        .filter(campaigns::Column::Slug.eq(slug))
        .one(conn)
        .await
}

async fn activities_of(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
) -> Result<Vec<activities::Model>, DbErr> {
    activities::Entity::find()
        .filter(activities::Column::CampaignId.eq(campaign.id))
        .order_by_asc(activities::Column::Position)
        .all(conn)
        .await
}

async fn view_of(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
) -> Result<CampaignView, DbErr> {
    Ok(CampaignView::new(
        campaign,
        &activities_of(conn, campaign).await?,
    ))
}

/// Live windows of two campaigns may not overlap (preheats may).
async fn check_overlap(
    conn: &impl ConnectionTrait,
    campaign: &ValidCampaign,
) -> Result<(), CampaignError> {
    let clash = campaigns::Entity::find()
        .filter(campaigns::Column::Slug.ne(campaign.slug.as_str()))
        .filter(campaigns::Column::StartsAt.lt(campaign.ends_at))
        .filter(campaigns::Column::EndsAt.gt(campaign.starts_at))
        .one(conn)
        .await?;
    match clash {
        Some(other) => Err(CampaignError::Overlap(other.slug)),
        None => Ok(()),
    }
}

fn validated(input: &CampaignInput) -> Result<ValidCampaign, CampaignError> {
    import::validate(input).map_err(CampaignError::Invalid)
}

async fn replace_activities(
    conn: &impl ConnectionTrait,
    campaign_id: i64,
    campaign: &ValidCampaign,
) -> Result<(), DbErr> {
    activities::Entity::delete_many()
        .filter(activities::Column::CampaignId.eq(campaign_id))
        .exec(conn)
        .await?;
    for (position, activity) in campaign.activities.iter().enumerate() {
        activities::ActiveModel {
            campaign_id: Set(campaign_id),
            slug: Set(activity.slug.clone()),
            kind: Set(activity.kind.as_str().to_owned()),
            name: Set(activity.name.clone()),
            starts_at: Set(activity.starts_at),
            ends_at: Set(activity.ends_at),
            config: Set(activity.config.clone()),
            position: Set(position as i32),
            ..Default::default()
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

fn set_fields(active: &mut campaigns::ActiveModel, campaign: &ValidCampaign) {
    active.name = Set(campaign.name.clone());
    active.theme = Set(campaign.theme.clone());
    active.year = Set(campaign.year);
    active.quarter = Set(campaign.quarter);
    active.preheat_at = Set(campaign.preheat_at);
    active.starts_at = Set(campaign.starts_at);
    active.ends_at = Set(campaign.ends_at);
    active.rules_text = Set(campaign.rules_text.clone());
    active.prize_summary = Set(campaign.prize_summary.clone());
    active.updated_at = Set(Utc::now());
}

/// Creates a draft.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &CampaignInput,
) -> Result<CampaignView, CampaignError> {
    let campaign = validated(input)?;
    let txn = crate::db::begin_write(db).await?;
    if find(&txn, &campaign.slug).await?.is_some() {
        return Err(CampaignError::SlugTaken);
    }
    check_overlap(&txn, &campaign).await?;
    let view = insert(&txn, &actor.label, &campaign, Status::Draft).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("campaign.create", "campaign", campaign.slug.clone()).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

async fn insert(
    conn: &impl ConnectionTrait,
    created_by: &str,
    campaign: &ValidCampaign,
    status: Status,
) -> Result<CampaignView, CampaignError> {
    let now = Utc::now();
    let mut active = campaigns::ActiveModel {
        slug: Set(campaign.slug.clone()),
        status: Set(status.as_str().to_owned()),
        paused: Set(false),
        paused_reason: Set(None),
        created_by: Set(created_by.to_owned()),
        created_at: Set(now),
        ..Default::default()
    };
    set_fields(&mut active, campaign);
    let stored = active.insert(conn).await?;
    replace_activities(conn, stored.id, campaign).await?;
    // What only the database can check (a named coupon template exists) is refused as bad input, by field.
    let refused = |field: String, message: String| {
        CampaignError::Invalid(vec![FieldError { field, message }])
    };
    for (i, pool) in campaign.pools.iter().enumerate() {
        crate::lottery::service::insert_pool(conn, &stored, pool)
            .await
            .map_err(|e| match e {
                crate::lottery::service::LotteryError::Invalid(message) => {
                    refused(format!("pools[{i}]"), message)
                }
                other => CampaignError::Unexpected(anyhow::anyhow!("pool {}: {other}", pool.slug)),
            })?;
    }
    for (i, item) in campaign.catalogue.iter().enumerate() {
        crate::points::catalogue::insert_item(conn, &stored, item)
            .await
            .map_err(|e| match e {
                crate::points::catalogue::RedeemError::Invalid(message) => {
                    refused(format!("catalogue[{i}]"), message)
                }
                other => CampaignError::Unexpected(anyhow::anyhow!(
                    "catalogue item {}: {other}",
                    item.slug
                )),
            })?;
    }
    Ok(view_of(conn, &stored).await?)
}

/// A live campaign's published terms are frozen: only what customers cannot rely on (name, theme) may change.
fn only_safe_fields_differ(stored: &CampaignView, campaign: &ValidCampaign) -> bool {
    let incoming = CampaignView::new(
        &campaigns::Model {
            id: 0,
            slug: campaign.slug.clone(),
            name: stored.name.clone(),
            theme: stored.theme.clone(),
            year: campaign.year,
            quarter: campaign.quarter,
            preheat_at: campaign.preheat_at,
            starts_at: campaign.starts_at,
            ends_at: campaign.ends_at,
            status: stored.status.clone(),
            paused: stored.paused,
            paused_reason: stored.paused_reason.clone(),
            rules_text: campaign.rules_text.clone(),
            prize_summary: campaign.prize_summary.clone(),
            created_by: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        },
        &campaign
            .activities
            .iter()
            .enumerate()
            .map(|(i, a)| activities::Model {
                id: 0,
                campaign_id: 0,
                slug: a.slug.clone(),
                kind: a.kind.as_str().to_owned(),
                name: a.name.clone(),
                starts_at: a.starts_at,
                ends_at: a.ends_at,
                config: a.config.clone(),
                position: i as i32,
            })
            .collect::<Vec<_>>(),
    );
    serde_json::to_value(&incoming).ok() == serde_json::to_value(stored).ok()
}

/// Replaces a campaign (and its activities); a live one only in its safe fields.
pub async fn replace(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    input: &CampaignInput,
) -> Result<CampaignView, CampaignError> {
    if input.slug != slug {
        return Err(CampaignError::Invalid(vec![FieldError {
            field: "slug".into(),
            message: "does not match the URL".into(),
        }]));
    }
    let campaign = validated(input)?;
    let txn = crate::db::begin_write(db).await?;
    let stored = find(&txn, slug).await?.ok_or(CampaignError::NotFound)?;
    let before = view_of(&txn, &stored).await?;
    let after = apply_replacement(&txn, stored, &before, &campaign).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("campaign.update", "campaign", slug.to_owned())
            .before(&before)
            .after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

async fn apply_replacement(
    conn: &impl ConnectionTrait,
    stored: campaigns::Model,
    before: &CampaignView,
    campaign: &ValidCampaign,
) -> Result<CampaignView, CampaignError> {
    let live = stored.status == Status::Live.as_str();
    if live && !only_safe_fields_differ(before, campaign) {
        return Err(CampaignError::Live);
    }
    if stored.status == Status::Ended.as_str() {
        return Err(CampaignError::Transition(
            "an ended campaign is part of the record and cannot change".into(),
        ));
    }
    check_overlap(conn, campaign).await?;
    let id = stored.id;
    let mut active: campaigns::ActiveModel = stored.into();
    set_fields(&mut active, campaign);
    let updated = active.update(conn).await?;
    if !live {
        replace_activities(conn, id, campaign).await?;
    }
    Ok(view_of(conn, &updated).await?)
}

/// Draft -> scheduled: from now on the clock moves it (to preheat, live, ended).
pub async fn schedule(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<CampaignView, CampaignError> {
    let txn = crate::db::begin_write(db).await?;
    let stored = find(&txn, slug).await?.ok_or(CampaignError::NotFound)?;
    if stored.status != Status::Draft.as_str() {
        return Err(CampaignError::Transition(format!(
            "only a draft can be scheduled; this one is {}",
            stored.status
        )));
    }
    if stored.ends_at <= now {
        return Err(CampaignError::Transition(
            "the campaign's window is already over".into(),
        ));
    }
    let before = view_of(&txn, &stored).await?;
    let mut active: campaigns::ActiveModel = stored.into();
    active.status = Set(Status::Scheduled.as_str().to_owned());
    active.updated_at = Set(Utc::now());
    let after = view_of(&txn, &active.update(&txn).await?).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("campaign.schedule", "campaign", slug.to_owned())
            .before(&before)
            .after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// The circuit breaker. The store flag is what every grant-type action checks inside its atomic step, so it
/// takes effect on every instance at once; the database keeps it for the record and for rebuilding the flag.
pub async fn set_paused(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    actor: &Actor,
    slug: &str,
    paused: bool,
    reason: &str,
) -> Result<CampaignView, CampaignError> {
    if reason.trim().is_empty() || reason.chars().count() > 500 {
        return Err(CampaignError::Invalid(vec![FieldError {
            field: "reason".into(),
            message: "a reason (1-500 characters) is required".into(),
        }]));
    }
    let txn = crate::db::begin_write(db).await?;
    let stored = find(&txn, slug).await?.ok_or(CampaignError::NotFound)?;
    if stored.paused == paused {
        return Err(CampaignError::Transition(format!(
            "the campaign is already {}",
            if paused { "paused" } else { "running" }
        )));
    }
    let before = view_of(&txn, &stored).await?;
    let mut active: campaigns::ActiveModel = stored.into();
    active.paused = Set(paused);
    active.paused_reason = Set(paused.then(|| reason.to_owned()));
    active.updated_at = Set(Utc::now());
    let after = view_of(&txn, &active.update(&txn).await?).await?;
    let action = if paused {
        "campaign.pause"
    } else {
        "campaign.resume"
    };
    audit::record(
        &txn,
        actor,
        audit::Entry::new(action, "campaign", slug.to_owned())
            .before(&before)
            .after(&after)
            .reason(reason),
    )
    .await?;
    // Flag first, then commit: if the commit fails the flag is rebuilt from the database within a minute.
    store.set_paused(slug, paused).await?;
    txn.commit().await?;
    Ok(after)
}

/// Re-applies every campaign's pause flag from the database (after a store flush or restart).
pub async fn sync_pause_flags(
    db: &DatabaseConnection,
    store: &dyn StateStore,
) -> Result<usize, CampaignError> {
    let all = campaigns::Entity::find().all(db).await?;
    for campaign in &all {
        store.set_paused(&campaign.slug, campaign.paused).await?;
    }
    Ok(all.len())
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<CampaignView>, CampaignError> {
    let mut views = Vec::new();
    for campaign in campaigns::Entity::find()
        .order_by_asc(campaigns::Column::StartsAt)
        .all(db)
        .await?
    {
        views.push(view_of(db, &campaign).await?);
    }
    Ok(views)
}

pub async fn detail(db: &DatabaseConnection, slug: &str) -> Result<CampaignView, CampaignError> {
    let campaign = find(db, slug).await?.ok_or(CampaignError::NotFound)?;
    Ok(view_of(db, &campaign).await?)
}

/// What customers see of a campaign: never drafts; the status as of now.
#[derive(Debug, Clone, Serialize)]
pub struct PublicCampaign {
    pub slug: String,
    pub name: String,
    pub theme: String,
    pub quarter: i16,
    pub status: Status,
    pub paused: bool,
    pub preheat_at: String,
    pub starts_at: String,
    pub ends_at: String,
    /// Seconds until it starts (0 once started) and until it ends (0 once ended).
    pub starts_in_secs: i64,
    pub ends_in_secs: i64,
}

fn public(campaign: &campaigns::Model, now: DateTime<Utc>) -> PublicCampaign {
    PublicCampaign {
        slug: campaign.slug.clone(),
        name: campaign.name.clone(),
        theme: campaign.theme.clone(),
        quarter: campaign.quarter,
        status: status_at(
            campaign.preheat_at,
            campaign.starts_at,
            campaign.ends_at,
            now,
        ),
        paused: campaign.paused,
        preheat_at: shanghai(campaign.preheat_at),
        starts_at: shanghai(campaign.starts_at),
        ends_at: shanghai(campaign.ends_at),
        starts_in_secs: (campaign.starts_at - now).num_seconds().max(0),
        ends_in_secs: (campaign.ends_at - now).num_seconds().max(0),
    }
}

/// Live and upcoming campaigns, soonest first.
pub async fn calendar(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Vec<PublicCampaign>, CampaignError> {
    Ok(campaigns::Entity::find()
        .filter(campaigns::Column::Status.ne(Status::Draft.as_str()))
        .filter(campaigns::Column::EndsAt.gt(now))
        .order_by_asc(campaigns::Column::StartsAt)
        .all(db)
        .await?
        .iter()
        .map(|c| public(c, now))
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicCampaignDetail {
    #[serde(flatten)]
    pub campaign: PublicCampaign,
    pub rules_text: String,
    pub prize_summary: String,
    pub activities: Vec<ActivityView>,
}

pub async fn public_detail(
    db: &DatabaseConnection,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<PublicCampaignDetail, CampaignError> {
    let campaign = find(db, slug)
        .await?
        .filter(|c| c.status != Status::Draft.as_str())
        .ok_or(CampaignError::NotFound)?;
    let view = view_of(db, &campaign).await?;
    Ok(PublicCampaignDetail {
        campaign: public(&campaign, now),
        rules_text: view.rules_text,
        prize_summary: view.prize_summary,
        activities: view.activities,
    })
}

/// One line of an import's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Change {
    Create(String),
    Update(String),
    Unchanged(String),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Create(slug) => write!(f, "+ create {slug}"),
            Change::Update(slug) => write!(f, "~ update {slug}"),
            Change::Unchanged(slug) => write!(f, "= unchanged {slug}"),
        }
    }
}

/// Pools and catalogue items arrive with a new campaign. For one that exists, a pool or item the file adds is
/// refused rather than silently skipped: it goes through the staff API, which also keeps live pools frozen.
async fn refuse_new_offers(
    conn: &impl ConnectionTrait,
    stored: &campaigns::Model,
    campaign: &ValidCampaign,
    index: usize,
) -> Result<(), CampaignError> {
    use crate::entities::{catalogue_items, prize_pools};
    let pools: Vec<String> = prize_pools::Entity::find()
        .filter(prize_pools::Column::CampaignId.eq(stored.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| p.slug)
        .collect();
    let items: Vec<String> = catalogue_items::Entity::find()
        .filter(catalogue_items::Column::CampaignId.eq(stored.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|i| i.slug)
        .collect();
    let mut problems = Vec::new();
    for (i, pool) in campaign
        .pools
        .iter()
        .enumerate()
        .filter(|(_, p)| !pools.contains(&p.slug))
    {
        problems.push(FieldError {
            field: format!("campaigns[{index}].pools[{i}]"),
            message: format!("pool {} is new for an existing campaign: add it with POST /admin/v1/campaigns/{}/pools", pool.slug, stored.slug),
        });
    }
    for (i, item) in campaign
        .catalogue
        .iter()
        .enumerate()
        .filter(|(_, it)| !items.contains(&it.slug))
    {
        problems.push(FieldError {
            field: format!("campaigns[{index}].catalogue[{i}]"),
            message: format!("item {} is new for an existing campaign: add it with POST /admin/v1/campaigns/{}/catalogue", item.slug, stored.slug),
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CampaignError::Invalid(problems))
    }
}

/// Plans (and with `apply`, performs) an upsert by slug of every campaign, in one transaction: any error and
/// nothing is applied. Imported campaigns are scheduled: the calendar is the published plan.
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    inputs: &[CampaignInput],
    apply: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Change>, CampaignError> {
    let mut valid = Vec::new();
    let mut errors = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        match import::validate(input) {
            Ok(campaign) => valid.push(campaign),
            Err(found) => errors.extend(found.into_iter().map(|e| FieldError {
                field: format!("campaigns[{i}].{}", e.field),
                message: e.message,
            })),
        }
    }
    if !errors.is_empty() {
        return Err(CampaignError::Invalid(errors));
    }
    let txn = crate::db::begin_write(db).await?;
    let mut changes = Vec::new();
    for (index, campaign) in valid.iter().enumerate() {
        let change = match find(&txn, &campaign.slug).await? {
            None => {
                check_overlap(&txn, campaign).await?;
                let status = status_at(
                    campaign.preheat_at,
                    campaign.starts_at,
                    campaign.ends_at,
                    now,
                );
                let view = insert(&txn, &actor.label, campaign, status).await?;
                audit::record(
                    &txn,
                    actor,
                    audit::Entry::new("campaign.import", "campaign", campaign.slug.clone())
                        .after(&view),
                )
                .await?;
                Change::Create(campaign.slug.clone())
            }
            Some(stored) => {
                refuse_new_offers(&txn, &stored, campaign, index).await?;
                let before = view_of(&txn, &stored).await?;
                let same = only_safe_fields_differ(&before, campaign)
                    && before.name == campaign.name
                    && before.theme == campaign.theme;
                if same {
                    Change::Unchanged(campaign.slug.clone())
                } else {
                    let after = apply_replacement(&txn, stored, &before, campaign).await?;
                    audit::record(
                        &txn,
                        actor,
                        audit::Entry::new("campaign.import", "campaign", campaign.slug.clone())
                            .before(&before)
                            .after(&after),
                    )
                    .await?;
                    Change::Update(campaign.slug.clone())
                }
            }
        };
        changes.push(change);
    }
    if apply {
        txn.commit().await?;
    } else {
        txn.rollback().await?;
    }
    Ok(changes)
}
