//! A team's end: it completes when every seat is taken and every member has done what the activity asks, and
//! then each member is rewarded once; an open team past its window expires, paying its consolation, and frees
//! its members to make or join another. The team job runs both every minute.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use super::model::{members_of, status, TeamActivity, TeamError};
use crate::entities::{campaigns, team_members, teams};
use crate::rewards::Rewards;
use crate::state::Context;

/// Teams read at a time; a pass pages through them all.
const PAGE: u64 = 500;

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
    for member in by_user(&members) {
        let source_ref = format!("team:{}:{}", team.id, member.user_id);
        crate::outbox::record(
            txn,
            &crate::outbox::Event {
                user_id: member.user_id,
                kind: crate::outbox::EventKind::TeamCompleted,
                source_ref: &source_ref,
                campaign_id: Some(campaign.id),
                activity_id: Some(activity.activity.id),
                subject: None,
                at: now,
            },
        )
        .await?;
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

/// Members in user order: payments lock each customer's rows, and two teams sharing members must take them in
/// one order (on PostgreSQL, else they can deadlock).
fn by_user(members: &[team_members::Model]) -> Vec<&team_members::Model> {
    let mut sorted: Vec<&team_members::Model> = members.iter().collect();
    sorted.sort_by_key(|member| member.user_id);
    sorted
}

/// `complete_if_done` on a savepoint of `txn`: a failure (a reward that cannot be paid) is rolled back to it,
/// with its grants, and handed to the caller, whose transaction goes on.
pub(super) async fn try_complete(
    txn: &DatabaseTransaction,
    campaign: &campaigns::Model,
    activity: &TeamActivity,
    team: &teams::Model,
    rewards: &mut Rewards,
    now: DateTime<Utc>,
) -> Result<Result<teams::Model, TeamError>, sea_orm::DbErr> {
    let savepoint = txn.begin().await?;
    let mut attempt = Rewards::new(now);
    match complete_if_done(
        &savepoint,
        campaign,
        activity,
        team.clone(),
        &mut attempt,
        now,
    )
    .await
    {
        Ok(team) => {
            savepoint.commit().await?;
            rewards.absorb(attempt);
            Ok(Ok(team))
        }
        Err(error) => {
            savepoint.rollback().await?;
            Ok(Err(error))
        }
    }
}

/// What one pass of the team job did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub completed: u32,
    pub expired: u32,
    /// Teams that could not be settled (logged; tried again next pass).
    pub failed: u32,
}

/// Completes the full teams whose members have all played since, and expires the open teams past their
/// window (a full, played team at its expiry completes instead).
pub async fn settle_teams(cx: Context<'_>) -> Result<Settled, TeamError> {
    let mut settled = Settled::default();
    // Each kind of candidate is paged by id, so teams that keep waiting (full, not yet played) cannot crowd
    // out the others, and one team that fails (a misconfigured reward) cannot stop the rest.
    for due in [false, true] {
        let mut after = 0;
        loop {
            let page = candidates(cx, due, after).await?;
            let Some(&last) = page.last() else { break };
            after = last;
            for team_id in page {
                match settle_one(cx, team_id).await {
                    Ok(Some(status::COMPLETE)) => settled.completed += 1,
                    Ok(Some(status::EXPIRED)) => settled.expired += 1,
                    Ok(_) => {}
                    Err(error) => {
                        settled.failed += 1;
                        tracing::error!(?error, team = team_id, "a team could not be settled");
                    }
                }
            }
        }
    }
    Ok(settled)
}

/// Open teams after `after`, by id: the full ones (`due` false) or those past their window (`due` true).
async fn candidates(cx: Context<'_>, due: bool, after: i64) -> Result<Vec<i64>, TeamError> {
    if due {
        return Ok(teams::Entity::find()
            .select_only()
            .column(teams::Column::Id)
            .filter(teams::Column::Status.eq(status::OPEN))
            .filter(teams::Column::ExpiresAt.lte(cx.now))
            .filter(teams::Column::Id.gt(after))
            .order_by_asc(teams::Column::Id)
            .limit(PAGE)
            .into_tuple()
            .all(cx.db)
            .await?);
    }
    let open_teams = Query::select()
        .column(teams::Column::Id)
        .from(teams::Entity)
        .and_where(Expr::col(teams::Column::Status).eq(status::OPEN))
        .to_owned();
    Ok(team_members::Entity::find()
        .select_only()
        .column(team_members::Column::TeamId)
        .filter(team_members::Column::TeamId.in_subquery(open_teams))
        .filter(team_members::Column::TeamId.gt(after))
        .group_by(team_members::Column::TeamId)
        .group_by(team_members::Column::TeamSize)
        .having(
            Expr::expr(Func::count(Expr::col(team_members::Column::Id)))
                .eq(Expr::col(team_members::Column::TeamSize)),
        )
        .order_by_asc(team_members::Column::TeamId)
        .limit(PAGE)
        .into_tuple()
        .all(cx.db)
        .await?)
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
    let campaign = crate::campaigns::gate::find_campaign_by_id(&txn, team.campaign_id)
        .await?
        .ok_or(TeamError::NotFound)?;
    let activity = TeamActivity::by_id(&txn, team.activity_id).await?;
    let mut rewards = Rewards::new(now);
    // A team whose reward cannot be paid still expires (with its consolation) at its end.
    let team = match try_complete(&txn, &campaign, &activity, &team, &mut rewards, now).await? {
        Ok(team) => team,
        Err(error) if now >= team.expires_at => {
            tracing::error!(
                ?error,
                team = team.id,
                "a team could not complete; it expires instead"
            );
            team
        }
        Err(error) => return Err(error),
    };
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
        for member in by_user(&members) {
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
