//! A team activity's rules (its config in the calendar), the team's states and what can go wrong.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

use crate::calendar::read_config;
use crate::campaigns::gate::GateError;
use crate::entities::{activities, team_members, teams};
use crate::error::{AppError, ErrorCode};
use crate::rewards::{RewardError, RewardSpec};
use crate::store::StoreError;

/// A team activity's config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// Seats, the leader's included.
    pub team_size: u32,
    /// How long a team stays open to fill (and for its members to play), from its creation; never past the
    /// activity's end.
    #[serde(default = "default_window_hours")]
    pub window_hours: u32,
    /// Only customers first seen since the activity opened may join (the leader may be anyone).
    #[serde(default)]
    pub new_customers_only: bool,
    /// What every member must do before the team completes: pass this level of the campaign's quiz.
    #[serde(default)]
    pub quiz_level: Option<u32>,
    /// Paid to every member once, when the team completes.
    pub reward: RewardSpec,
    /// Paid to every member of a team that expired unfilled or unplayed.
    #[serde(default)]
    pub consolation: Option<RewardSpec>,
}

fn default_window_hours() -> u32 {
    72
}

impl TeamConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(2..=10).contains(&self.team_size) {
            return Err("team_size must be between 2 and 10".into());
        }
        if !(1..=720).contains(&self.window_hours) {
            return Err("window_hours must be between 1 and 720".into());
        }
        if self
            .quiz_level
            .is_some_and(|level| !(1..=20).contains(&level))
        {
            return Err("quiz_level must be between 1 and 20".into());
        }
        self.reward.check("reward")?;
        match &self.consolation {
            Some(consolation) => consolation.check("consolation"),
            None => Ok(()),
        }
    }
}

pub mod status {
    pub const OPEN: &str = "open";
    pub const COMPLETE: &str = "complete";
    pub const EXPIRED: &str = "expired";
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error("this activity is not a team activity")]
    NotATeamActivity,
    #[error("no such team")]
    NotFound,
    #[error("every seat of this team is taken")]
    Full,
    #[error("this team has expired")]
    Expired,
    #[error("this is your own team")]
    OwnTeam,
    #[error("you are already in a team of this activity")]
    AlreadyInTeam,
    #[error("this team is for new customers only")]
    NotNewCustomer,
    #[error("the team's seats are being rebuilt; try again")]
    Rebuilding,
    #[error("the team activity is misconfigured: {0}")]
    Misconfigured(String),
    #[error(transparent)]
    Reward(#[from] RewardError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for TeamError {
    fn from(error: DbErr) -> Self {
        TeamError::Unexpected(error.into())
    }
}

impl From<TeamError> for AppError {
    fn from(error: TeamError) -> Self {
        let message = error.to_string();
        let code = match error {
            TeamError::Gate(e) => return e.into(),
            TeamError::Reward(e) => return e.into(),
            TeamError::Store(e) => return e.into(),
            TeamError::Unexpected(e) => return AppError::unexpected(e),
            TeamError::Misconfigured(_) => return AppError::unexpected(anyhow::anyhow!(message)),
            TeamError::NotATeamActivity => ErrorCode::ActivityNotFound,
            TeamError::NotFound => ErrorCode::TeamNotFound,
            TeamError::Full => ErrorCode::TeamFull,
            TeamError::Expired => ErrorCode::TeamExpired,
            TeamError::OwnTeam => ErrorCode::OwnTeam,
            TeamError::AlreadyInTeam => ErrorCode::AlreadyInTeam,
            TeamError::NotNewCustomer => ErrorCode::NotNewCustomer,
            TeamError::Rebuilding => ErrorCode::StoreRebuilding,
        };
        AppError::new(code, message)
    }
}

/// A team activity and its config.
#[derive(Debug, Clone)]
pub(super) struct TeamActivity {
    pub activity: activities::Model,
    pub config: TeamConfig,
}

impl TeamActivity {
    pub(super) fn of(activity: activities::Model) -> Result<Self, TeamError> {
        let config = read_config::<TeamConfig>(&activity.config)
            .map_err(|e| TeamError::Misconfigured(format!("{}: {e}", activity.slug)))?;
        Ok(Self { activity, config })
    }

    pub(super) async fn by_id(conn: &impl ConnectionTrait, id: i64) -> Result<Self, TeamError> {
        let activity = crate::campaigns::gate::find_activity(conn, id)
            .await?
            .ok_or(TeamError::NotFound)?;
        Self::of(activity)
    }

    /// When a team made now stops taking joins.
    pub(super) fn expiry_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        (now + Duration::hours(i64::from(self.config.window_hours))).min(self.activity.ends_at)
    }

    /// How long from `now` the store keeps a team's seats and its members' marks: a day past the activity.
    pub(super) fn keep_for(&self, now: DateTime<Utc>) -> std::time::Duration {
        (self.activity.ends_at + Duration::days(1) - now)
            .to_std()
            .unwrap_or_default()
            .max(std::time::Duration::from_secs(60))
    }
}

/// The team with this share code: its one finder.
pub(super) async fn team_by_code(
    conn: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<teams::Model>, DbErr> {
    teams::Entity::find()
        .filter(teams::Column::Code.eq(code))
        .one(conn)
        .await
}

/// A team's taken seats, by seat.
pub(super) async fn members_of(
    conn: &impl ConnectionTrait,
    team_id: i64,
) -> Result<Vec<team_members::Model>, DbErr> {
    team_members::Entity::find()
        .filter(team_members::Column::TeamId.eq(team_id))
        .order_by_asc(team_members::Column::Seat)
        .all(conn)
        .await
}

/// The seat the customer holds in an open or complete team of the activity, if any.
pub(super) async fn active_seat(
    conn: &impl ConnectionTrait,
    activity_id: i64,
    user_id: i64,
) -> Result<Option<team_members::Model>, DbErr> {
    team_members::Entity::find()
        .filter(team_members::Column::ActiveActivityId.eq(activity_id))
        .filter(team_members::Column::UserId.eq(user_id))
        .one(conn)
        .await
}
