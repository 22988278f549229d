//! A team's end: it completes when every seat is taken and every member has done what the activity asks, and
//! then each member is rewarded once; an open team past its window expires, paying its consolation, and frees
//! its members to make or join another. The team job runs both every minute.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set,
};

use super::model::{members_of, status, TeamActivity, TeamError};
use crate::entities::{campaigns, team_members, teams};
use crate::rewards::Rewards;
use crate::state::Context;

/// Teams one pass settles; the rest follow on the next pass.
const PER_PASS: u64 = 500;

/// Completes `team` (locked by the caller's transaction) if it is open, full and every member has done the
/// activity's action; pays each member's reward once. Returns the team as it now stands.
pub(super) async fn complete_if_done(
    txn: &DatabaseTransaction,
    campaign: &campaigns::Model,
    activity: &TeamActivity,
    team: teams::Model,
    rewards: &mut Rewards,
    now: DateTime<Utc>,
) -> Result<teams::Model, TeamError> {
    if team.status != status::OPEN {
        return Ok(team);
    }
    let members = members_of(txn, team.id).await?;
    if members.len() < team.size as usize {
        return Ok(team);
    }
    if let Some(level) = activity.config.quiz_level {
        for member in &members {
            if !crate::quiz::service::passed_level(txn, campaign.id, member.user_id, level).await? {
                return Ok(team);
            }
        }
    }
    for member in &members {
        let source_ref = format!("team:{}:{}", team.id, member.user_id);
        rewards
            .pay(
                txn,
                member.user_id,
                &source_ref,
                &activity.config.reward,
                campaign,
                "team_completed",
            )
            .await?;
    }
    let mut closing: teams::ActiveModel = team.into();
    closing.status = Set(status::COMPLETE.into());
    closing.closed_at = Set(Some(now));
    Ok(closing.update(txn).await?)
}

/// What one pass of the team job did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub completed: u32,
    pub expired: u32,
}

/// Completes the full teams whose members have all played since, and expires the open teams past their
/// window (a full, played team at its expiry completes instead).
pub async fn settle_teams(cx: Context<'_>) -> Result<Settled, TeamError> {
    let Context { db, now, .. } = cx;
    let mut settled = Settled::default();
    let open_teams = Query::select()
        .column(teams::Column::Id)
        .from(teams::Entity)
        .and_where(Expr::col(teams::Column::Status).eq(status::OPEN))
        .to_owned();
    let full: Vec<i64> = team_members::Entity::find()
        .select_only()
        .column(team_members::Column::TeamId)
        .filter(team_members::Column::TeamId.in_subquery(open_teams))
        .group_by(team_members::Column::TeamId)
        .group_by(team_members::Column::TeamSize)
        .having(
            Expr::expr(Func::count(Expr::col(team_members::Column::Id)))
                .eq(Expr::col(team_members::Column::TeamSize)),
        )
        .limit(PER_PASS)
        .into_tuple()
        .all(db)
        .await?;
    let due: Vec<i64> = teams::Entity::find()
        .select_only()
        .column(teams::Column::Id)
        .filter(teams::Column::Status.eq(status::OPEN))
        .filter(teams::Column::ExpiresAt.lte(now))
        .limit(PER_PASS)
        .into_tuple()
        .all(db)
        .await?;
    for team_id in full.into_iter().chain(due) {
        match settle_one(cx, team_id).await? {
            Some(status::COMPLETE) => settled.completed += 1,
            Some(status::EXPIRED) => settled.expired += 1,
            _ => {}
        }
    }
    Ok(settled)
}

/// Settles one team in its own transaction; returns its new status when it closed.
async fn settle_one(cx: Context<'_>, team_id: i64) -> Result<Option<&'static str>, TeamError> {
    let Context { db, store, now } = cx;
    let txn = crate::db::begin_write(db).await?;
    let Some(team) = teams::Entity::find_by_id(team_id)
        .lock_exclusive()
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    if team.status != status::OPEN {
        return Ok(None);
    }
    let campaign = campaigns::Entity::find_by_id(team.campaign_id)
        .one(&txn)
        .await?
        .ok_or(TeamError::NotFound)?;
    let activity = TeamActivity::by_id(&txn, team.activity_id).await?;
    let mut rewards = Rewards::new(now);
    let team = complete_if_done(&txn, &campaign, &activity, team, &mut rewards, now).await?;
    if team.status == status::COMPLETE {
        txn.commit().await?;
        rewards.after_commit(store).await;
        return Ok(Some(status::COMPLETE));
    }
    if now < team.expires_at {
        return Ok(None);
    }
    let members = members_of(&txn, team.id).await?;
    if let Some(consolation) = &activity.config.consolation {
        for member in &members {
            let source_ref = format!("team:{}:consolation:{}", team.id, member.user_id);
            rewards
                .pay(
                    &txn,
                    member.user_id,
                    &source_ref,
                    consolation,
                    &campaign,
                    "team_consolation",
                )
                .await?;
        }
    }
    team_members::Entity::update_many()
        .col_expr(
            team_members::Column::ActiveActivityId,
            Expr::value(Option::<i64>::None),
        )
        .filter(team_members::Column::TeamId.eq(team.id))
        .exec(&txn)
        .await?;
    let mut closing: teams::ActiveModel = team.clone().into();
    closing.status = Set(status::EXPIRED.into());
    closing.closed_at = Set(Some(now));
    closing.update(&txn).await?;
    txn.commit().await?;
    rewards.after_commit(store).await;
    let users: Vec<i64> = members.iter().map(|m| m.user_id).collect();
    if let Err(error) = store
        .close_team(&campaign.slug, activity.activity.id, team.id, &users)
        .await
    {
        // The database has freed them already: a stale mark only costs a refused join its database write.
        tracing::warn!(
            ?error,
            team = team.id,
            "an expired team is still in the store"
        );
    }
    Ok(Some(status::EXPIRED))
}
