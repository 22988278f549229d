//! What a team's landing page and its members see: seats and states, never who the other members are.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::Serialize;

use super::model::{active_seat, members_of, team_by_code, TeamActivity, TeamError};
use crate::calendar::ActivityKind;
use crate::entities::{campaigns, teams};
use crate::rewards::RewardSpec;
use crate::state::Context;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamView {
    /// The share code: the landing page is `/teams/{code}`.
    pub code: String,
    pub campaign: String,
    pub activity: String,
    pub activity_name: String,
    pub size: u32,
    pub seats_left: u32,
    /// open, complete or expired
    pub status: String,
    pub expires_at: DateTime<Utc>,
    /// What every member must do before the team completes (the quiz level to pass), if anything.
    pub quiz_level: Option<u32>,
    pub reward: RewardSpec,
    pub consolation: Option<RewardSpec>,
    pub members: Vec<MemberView>,
    /// The caller's seat, when they hold one.
    pub your_seat: Option<u32>,
    /// True when the caller already led this open team (asked to make one again).
    pub resumed: bool,
}

/// A taken seat, shown without the customer behind it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub seat: u32,
    pub leader: bool,
    pub joined_at: DateTime<Utc>,
    /// Whether this member has done the activity's action (no action asked: true).
    pub done: bool,
}

pub(super) async fn team_view(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
    activity: &TeamActivity,
    team: teams::Model,
    caller: Option<i64>,
    resumed: bool,
) -> Result<TeamView, TeamError> {
    let members = members_of(conn, team.id).await?;
    let mut shown = Vec::with_capacity(members.len());
    for member in &members {
        let done = match activity.config.quiz_level {
            Some(level) => {
                crate::quiz::service::passed_level(conn, campaign.id, member.user_id, level).await?
            }
            None => true,
        };
        shown.push(MemberView {
            seat: member.seat as u32,
            leader: member.user_id == team.leader_id,
            joined_at: member.joined_at,
            done,
        });
    }
    let your_seat = caller.and_then(|user| {
        members
            .iter()
            .find(|m| m.user_id == user)
            .map(|m| m.seat as u32)
    });
    Ok(TeamView {
        code: team.code,
        campaign: campaign.slug.clone(),
        activity: activity.activity.slug.clone(),
        activity_name: activity.activity.name.clone(),
        size: team.size as u32,
        seats_left: (team.size as u32).saturating_sub(members.len() as u32),
        status: team.status,
        expires_at: team.expires_at,
        quiz_level: activity.config.quiz_level,
        reward: activity.config.reward.clone(),
        consolation: activity.config.consolation.clone(),
        members: shown,
        your_seat,
        resumed,
    })
}

/// The team with this share code, for its landing page (anyone may look; the caller's seat when signed in).
pub async fn team(cx: Context<'_>, code: &str, caller: Option<i64>) -> Result<TeamView, TeamError> {
    if !crate::calendar::is_share_code(code) {
        return Err(TeamError::NotFound);
    }
    let team = team_by_code(cx.db, code)
        .await?
        .ok_or(TeamError::NotFound)?;
    let (campaign, activity) = campaign_and_activity(cx, &team).await?;
    team_view(cx.db, &campaign, &activity, team, caller, false).await
}

/// The open or complete team the caller sits in for this activity, if any.
pub async fn my_team(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    activity_slug: &str,
) -> Result<Option<TeamView>, TeamError> {
    let campaign = crate::campaigns::gate::find_campaign(cx.db, campaign_slug)
        .await?
        .ok_or(crate::campaigns::gate::GateError::NotFound)?;
    let activity = crate::campaigns::model::activities_of(cx.db, &campaign)
        .await?
        .into_iter()
        .find(|a| a.slug == activity_slug && a.kind == ActivityKind::Team.as_str())
        .ok_or(TeamError::NotATeamActivity)?;
    let activity = TeamActivity::of(activity)?;
    let Some(seat) = active_seat(cx.db, activity.activity.id, user_id).await? else {
        return Ok(None);
    };
    let team = teams::Entity::find_by_id(seat.team_id)
        .one(cx.db)
        .await?
        .ok_or(TeamError::NotFound)?;
    Ok(Some(
        team_view(cx.db, &campaign, &activity, team, Some(user_id), false).await?,
    ))
}

async fn campaign_and_activity(
    cx: Context<'_>,
    team: &teams::Model,
) -> Result<(campaigns::Model, TeamActivity), TeamError> {
    let campaign = crate::campaigns::gate::find_campaign_by_id(cx.db, team.campaign_id)
        .await?
        .ok_or(TeamError::NotFound)?;
    let activity = TeamActivity::by_id(cx.db, team.activity_id).await?;
    Ok((campaign, activity))
}
