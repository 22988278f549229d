//! A team's seats in the store, rebuilt from the database by one instance at a time.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::model::{members_of, TeamActivity, TeamError};
use crate::entities::teams;
use crate::store::teams::TeamSeats;
use crate::store::StateStore;

/// Long enough to read one team's seats; a holder that dies frees the lock at expiry.
const REBUILD_LOCK_TTL: Duration = Duration::from_secs(5);

/// Writes the team's seats, as the database holds them, into the store. `Rebuilding` while another instance
/// holds the team's rebuild lock.
pub(super) async fn hydrate(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    campaign: &str,
    activity: &TeamActivity,
    team: &teams::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), TeamError> {
    let lock = format!("teams:rebuild:t{}", team.id);
    let Some(token) = store.lock(&lock, REBUILD_LOCK_TTL).await? else {
        return Err(TeamError::Rebuilding);
    };
    let written = async {
        let seats = members_of(db, team.id)
            .await?
            .into_iter()
            .map(|member| (member.seat as u32, member.user_id))
            .collect();
        let seats = TeamSeats {
            campaign: campaign.to_owned(),
            activity_id: activity.activity.id,
            team_id: team.id,
            size: team.size as u32,
            leader_id: team.leader_id,
            expires_at_ms: team.expires_at.timestamp_millis(),
            seats,
            keep_for: activity.keep_for(now),
        };
        store.hydrate_team(&seats).await?;
        Ok::<_, TeamError>(())
    }
    .await;
    if let Err(error) = store.unlock(&lock, &token).await {
        tracing::warn!(
            ?error,
            "could not release a team rebuild lock; it expires by itself"
        );
    }
    written
}
