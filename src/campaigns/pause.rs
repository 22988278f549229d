//! The pause switch (circuit breaker): the database row first, then the store flag every instance reads.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use super::gate::find_campaign as find;
use super::model::{view_of, CampaignError, CampaignView};
use crate::audit::{self, Actor};
use crate::calendar::FieldError;
use crate::entities::campaigns;
use crate::store::StateStore;

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
