//! Making a team: the caller leads it and takes seat 1; one open team per customer and activity (asking again
//! returns it).

use sea_orm::{ActiveModelTrait, EntityTrait, Set, SqlErr};

use super::model::{active_seat, status, TeamActivity, TeamError};
use super::seats::hydrate;
use super::view::{team_view, TeamView};
use crate::calendar::ActivityKind;
use crate::campaigns::gate::{self, Scope};
use crate::entities::{team_members, teams};
use crate::state::Context;

/// A new team (`resumed` false), or the open team the caller already leads in this activity (`resumed` true).
pub async fn create_team(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    activity_slug: &str,
) -> Result<TeamView, TeamError> {
    let Context { db, store, now } = cx;
    let admitted = gate::admit(
        db,
        store,
        campaign_slug,
        Scope::Activity(activity_slug, ActivityKind::Team),
        now,
    )
    .await?;
    let activity = TeamActivity::of(admitted.activity.ok_or(TeamError::NotATeamActivity)?)?;
    if let Some(seat) = active_seat(db, activity.activity.id, user_id).await? {
        let team = teams::Entity::find_by_id(seat.team_id)
            .one(db)
            .await?
            .ok_or(TeamError::NotFound)?;
        if team.leader_id == user_id && team.status == status::OPEN {
            return team_view(db, &admitted.campaign, &activity, team, Some(user_id), true).await;
        }
        return Err(TeamError::AlreadyInTeam);
    }
    // A code already taken (about one in a trillion per pair) is drawn again.
    for _ in 0..3 {
        let txn = crate::db::begin_write(db).await?;
        let made = teams::ActiveModel {
            code: Set(crate::calendar::new_share_code()),
            campaign_id: Set(admitted.campaign.id),
            activity_id: Set(activity.activity.id),
            leader_id: Set(user_id),
            size: Set(activity.config.team_size as i32),
            status: Set(status::OPEN.into()),
            created_at: Set(now),
            expires_at: Set(activity.expiry_from(now)),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let team = match made {
            Ok(team) => team,
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                continue
            }
            Err(error) => return Err(error.into()),
        };
        let leader = team_members::ActiveModel {
            team_id: Set(team.id),
            activity_id: Set(activity.activity.id),
            user_id: Set(user_id),
            seat: Set(1),
            team_size: Set(team.size),
            active_activity_id: Set(Some(activity.activity.id)),
            joined_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        match leader {
            Ok(_) => {}
            // A concurrent request of the same customer made or joined a team first: answer what it made.
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                txn.rollback().await?;
                let seat = active_seat(db, activity.activity.id, user_id)
                    .await?
                    .ok_or(TeamError::AlreadyInTeam)?;
                let team = teams::Entity::find_by_id(seat.team_id)
                    .one(db)
                    .await?
                    .ok_or(TeamError::NotFound)?;
                if team.leader_id == user_id && team.status == status::OPEN {
                    return team_view(db, &admitted.campaign, &activity, team, Some(user_id), true)
                        .await;
                }
                return Err(TeamError::AlreadyInTeam);
            }
            Err(error) => return Err(error.into()),
        }
        txn.commit().await?;
        if let Err(error) = hydrate(db, store, &admitted.campaign.slug, &activity, &team, now).await
        {
            // The first join hydrates it instead.
            tracing::warn!(
                ?error,
                team = team.id,
                "a new team's seats are not yet in the store"
            );
        }
        return team_view(
            db,
            &admitted.campaign,
            &activity,
            team,
            Some(user_id),
            false,
        )
        .await;
    }
    Err(TeamError::Unexpected(anyhow::anyhow!(
        "no free team code after three draws"
    )))
}
