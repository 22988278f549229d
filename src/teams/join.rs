//! Joining a team by its share code: one atomic store step takes the seat (capacity, window, one team per
//! customer and activity, not one's own), then the seat is written; the database refuses a seat the store
//! should not have given, and the store step is then undone.

use sea_orm::{ActiveModelTrait, EntityTrait, QuerySelect, Set, SqlErr};

use super::model::{active_seat, members_of, status, team_by_code, TeamActivity, TeamError};
use super::seats::hydrate;
use super::settle::try_complete;
use super::view::{team_view, TeamView};
use crate::calendar::ActivityKind;
use crate::campaigns::gate::{self, Scope};
use crate::entities::{campaigns, team_members, teams};
use crate::rewards::Rewards;
use crate::state::Context;
use crate::store::teams::{JoinOutcome, JoinSpec};

/// Store steps one join may take: hydrations and retries after a refused seat.
const ATTEMPTS: usize = 5;

pub async fn join_team(cx: Context<'_>, user_id: i64, code: &str) -> Result<TeamView, TeamError> {
    let Context { db, store, now } = cx;
    if !crate::calendar::is_share_code(code) {
        return Err(TeamError::NotFound);
    }
    let team = team_by_code(db, code).await?.ok_or(TeamError::NotFound)?;
    let campaign = crate::campaigns::gate::find_campaign_by_id(db, team.campaign_id)
        .await?
        .ok_or(TeamError::NotFound)?;
    let activity = TeamActivity::by_id(db, team.activity_id).await?;
    gate::check(
        db,
        store,
        &campaign,
        Scope::Activity(&activity.activity.slug, ActivityKind::Team),
        now,
    )
    .await?;
    // A member asking again (a stale page, a second device) is told so, whatever state the team is in.
    if let Some(seat) = active_seat(db, activity.activity.id, user_id).await? {
        return Err(match seat.team_id == team.id && team.leader_id == user_id {
            true => TeamError::OwnTeam,
            false => TeamError::AlreadyInTeam,
        });
    }
    refuse_closed(&team, now)?;
    if activity.config.new_customers_only && team.leader_id != user_id {
        let customer = crate::users::service::profile(db, user_id)
            .await
            .map_err(|e| TeamError::Unexpected(e.into()))?;
        if customer.created_at < activity.activity.starts_at {
            return Err(TeamError::NotNewCustomer);
        }
    }
    let spec = JoinSpec {
        campaign: campaign.slug.clone(),
        activity_id: activity.activity.id,
        team_id: team.id,
        user_id,
        now_ms: now.timestamp_millis(),
        keep_for: activity.keep_for(now),
    };
    for _ in 0..ATTEMPTS {
        let seat = match store.join_team(&spec).await? {
            JoinOutcome::Joined { seat, .. } => seat,
            JoinOutcome::NotHydrated => {
                match hydrate(db, store, &campaign.slug, &activity, &team, now).await {
                    Ok(()) => {}
                    Err(TeamError::Rebuilding) => {
                        tokio::time::sleep(std::time::Duration::from_millis(25)).await
                    }
                    Err(error) => return Err(error),
                }
                continue;
            }
            JoinOutcome::Paused => return Err(gate::GateError::Paused.into()),
            JoinOutcome::Expired => return Err(TeamError::Expired),
            JoinOutcome::Full => {
                if !phantom(|| async {
                    Ok(members_of(db, team.id).await?.len() < team.size as usize)
                })
                .await?
                {
                    return Err(TeamError::Full);
                }
                // A seat the store kept for a join the database never recorded (its request died between
                // the two): forget the team, and read its seats again.
                store
                    .close_team(&campaign.slug, activity.activity.id, team.id, &[])
                    .await?;
                continue;
            }
            JoinOutcome::OwnTeam => return Err(TeamError::OwnTeam),
            JoinOutcome::AlreadyMember => {
                if !phantom(|| async {
                    Ok(active_seat(db, activity.activity.id, user_id)
                        .await?
                        .is_none())
                })
                .await?
                {
                    return Err(TeamError::AlreadyInTeam);
                }
                // The same, for this customer's own phantom seat.
                store
                    .close_team(&campaign.slug, activity.activity.id, team.id, &[user_id])
                    .await?;
                continue;
            }
            JoinOutcome::InAnotherTeam { team_id } => {
                if active_seat(db, activity.activity.id, user_id)
                    .await?
                    .is_some()
                {
                    return Err(TeamError::AlreadyInTeam);
                }
                // A mark the store kept past its team's end: forget that team, and take the seat.
                store
                    .close_team(&campaign.slug, activity.activity.id, team_id, &[user_id])
                    .await?;
                continue;
            }
        };
        match seat_in_database(cx, &campaign, &activity, &team, user_id, seat).await {
            Ok(team) => {
                return team_view(db, &campaign, &activity, team, Some(user_id), false).await
            }
            Err(refused) => {
                if let Err(error) = store.undo_join(&spec).await {
                    // The next join finds the store's seats wrong against the database and reads them again.
                    tracing::warn!(
                        ?error,
                        team = team.id,
                        "a refused seat is still in the store"
                    );
                }
                match refused {
                    // The store's seats were stale: it hydrates afresh on the next step.
                    Refused::Seat => continue,
                    Refused::Because(error) => return Err(error),
                }
            }
        }
    }
    Err(TeamError::Rebuilding)
}

/// How long a seat the store gave may take to reach the database before it counts as never recorded.
const IN_FLIGHT: std::time::Duration = std::time::Duration::from_millis(500);

/// Whether the store holds a seat the database does not, for longer than a join in flight takes to commit:
/// `missing` says whether the database lacks it now, and is asked again after `IN_FLIGHT`.
async fn phantom<F, Fut>(missing: F) -> Result<bool, TeamError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<bool, sea_orm::DbErr>>,
{
    if !missing().await? {
        return Ok(false);
    }
    tokio::time::sleep(IN_FLIGHT).await;
    Ok(missing().await?)
}

enum Refused {
    /// The seat is taken or past the team's size in the database.
    Seat,
    Because(TeamError),
}

impl From<TeamError> for Refused {
    fn from(error: TeamError) -> Self {
        Refused::Because(error)
    }
}

impl From<sea_orm::DbErr> for Refused {
    fn from(error: sea_orm::DbErr) -> Self {
        Refused::Because(error.into())
    }
}

/// Writes the seat the store gave; the team completes in the same transaction when its seats are all taken
/// and every member has done what the activity asks (whichever join commits last sees that).
async fn seat_in_database(
    cx: Context<'_>,
    campaign: &campaigns::Model,
    activity: &TeamActivity,
    team: &teams::Model,
    user_id: i64,
    seat: u32,
) -> Result<teams::Model, Refused> {
    let Context { db, store, now } = cx;
    let txn = crate::db::begin_write(db).await?;
    let locked = teams::Entity::find_by_id(team.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(TeamError::NotFound)?;
    refuse_closed(&locked, now)?;
    let written = team_members::ActiveModel {
        team_id: Set(team.id),
        activity_id: Set(activity.activity.id),
        user_id: Set(user_id),
        seat: Set(seat as i32),
        team_size: Set(team.size),
        active_activity_id: Set(Some(activity.activity.id)),
        joined_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    if let Err(error) = written {
        txn.rollback().await?;
        if !matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
            && !is_check_violation(&error)
        {
            return Err(error.into());
        }
        return Err(
            match active_seat(db, activity.activity.id, user_id).await? {
                Some(_) => Refused::Because(TeamError::AlreadyInTeam),
                None => Refused::Seat,
            },
        );
    }
    // The seat stands even if completing fails (a reward misconfigured): the team job completes it later.
    let mut rewards = Rewards::new(now);
    let team = match try_complete(&txn, campaign, activity, &locked, &mut rewards, now).await? {
        Ok(team) => team,
        Err(error) => {
            tracing::error!(
                ?error,
                team = team.id,
                "a full team could not complete; the team job retries"
            );
            locked
        }
    };
    txn.commit().await?;
    rewards.after_commit(store).await;
    Ok(team)
}

/// A seat past the team's size: the `CHECK (seat <= team_size)` of `team_members`.
fn is_check_violation(error: &sea_orm::DbErr) -> bool {
    error
        .to_string()
        .to_ascii_lowercase()
        .contains("check constraint")
}

fn refuse_closed(team: &teams::Model, now: chrono::DateTime<chrono::Utc>) -> Result<(), TeamError> {
    match team.status.as_str() {
        status::COMPLETE => Err(TeamError::Full),
        status::EXPIRED => Err(TeamError::Expired),
        _ if now >= team.expires_at => Err(TeamError::Expired),
        _ => Ok(()),
    }
}
