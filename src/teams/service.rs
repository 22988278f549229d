//! Teams' public service functions, gathered from their use-case files for the routes and the other domains.

pub use super::create::create_team;
pub use super::join::join_team;
pub use super::model::{TeamConfig, TeamError};
pub use super::settle::{settle_teams, Settled};
pub use super::view::{my_team, team, MemberView, TeamView};
