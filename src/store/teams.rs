//! Team seats in the store: joining is one atomic step (the pause flag, the team's window and capacity, the
//! customer's one team per activity, not their own team twice), so 100 concurrent joins of a 3-seat team seat
//! exactly the free seats. A team's seats are hydrated from the database as a whole (the team's key is its own
//! marker: present means complete); the database refuses a seat beyond any limit if the store lied.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;

/// A team as the database holds it, for hydration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSeats {
    pub campaign: String,
    pub activity_id: i64,
    pub team_id: i64,
    pub size: u32,
    pub leader_id: i64,
    /// No join is taken at or after this (ms since the epoch).
    pub expires_at_ms: i64,
    /// Taken seats: (seat, user).
    pub seats: Vec<(u32, i64)>,
    /// How long the store keeps the team's keys: well past its close. A duration, not an instant, so the
    /// store's own clock (Redis's) needs no agreement with the application's.
    pub keep_for: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinSpec {
    pub campaign: String,
    pub activity_id: i64,
    pub team_id: i64,
    pub user_id: i64,
    pub now_ms: i64,
    /// How long the customer's "in this team" mark lives.
    pub keep_for: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    /// Seated; `full` when this took the last seat.
    Joined {
        seat: u32,
        full: bool,
    },
    /// The store does not hold this team: hydrate it from the database and try again.
    NotHydrated,
    Paused,
    Expired,
    Full,
    /// The leader joining their own team.
    OwnTeam,
    AlreadyMember,
    /// Seated in another team of this activity, as far as the store knows (the caller checks the database
    /// before refusing: a mark can outlive its team if the store missed the team's end).
    InAnotherTeam {
        team_id: i64,
    },
}

impl JoinOutcome {
    /// The wire form shared with `redis/join_team.lua`.
    /// `value` is the seat (joined) or the other team (in another team).
    pub(crate) fn decode(code: i64, value: i64, full: bool) -> Option<Self> {
        Some(match code {
            0 => Self::Joined {
                seat: u32::try_from(value).ok()?,
                full,
            },
            1 => Self::NotHydrated,
            2 => Self::Paused,
            3 => Self::Expired,
            4 => Self::Full,
            5 => Self::OwnTeam,
            6 => Self::AlreadyMember,
            7 => Self::InAnotherTeam { team_id: value },
            _ => return None,
        })
    }
}

/// The decision of one join, given the team's seats and where the customer already sits in the activity (the
/// memory store's; `redis/join_team.lua` makes the same one).
pub(crate) fn decide_join(
    team: &TeamSeats,
    seated_in: Option<i64>,
    user_id: i64,
    now_ms: i64,
) -> JoinOutcome {
    if now_ms >= team.expires_at_ms {
        return JoinOutcome::Expired;
    }
    if team.seats.iter().any(|&(_, user)| user == user_id) {
        return if user_id == team.leader_id {
            JoinOutcome::OwnTeam
        } else {
            JoinOutcome::AlreadyMember
        };
    }
    if let Some(other) = seated_in.filter(|&other| other != team.team_id) {
        return JoinOutcome::InAnotherTeam { team_id: other };
    }
    match (1..=team.size).find(|seat| team.seats.iter().all(|&(taken, _)| taken != *seat)) {
        Some(seat) => JoinOutcome::Joined {
            seat,
            full: team.seats.len() as u32 + 1 == team.size,
        },
        None => JoinOutcome::Full,
    }
}

#[async_trait]
pub trait TeamStore: Send + Sync {
    /// Writes the team's seats whole (replacing what the store held) and marks each member as seated in it.
    async fn hydrate_team(&self, seats: &TeamSeats) -> Result<(), StoreError>;

    /// One atomic join.
    async fn join_team(&self, spec: &JoinSpec) -> Result<JoinOutcome, StoreError>;

    /// Takes back a join the database refused: the customer's mark goes, and so does the team, so the next join
    /// hydrates it afresh from the database (whose seats are the truth).
    async fn undo_join(&self, spec: &JoinSpec) -> Result<(), StoreError>;

    /// Forgets a closed (completed or expired) team and its members' marks.
    async fn close_team(
        &self,
        campaign: &str,
        activity_id: i64,
        team_id: i64,
        members: &[i64],
    ) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(seats: Vec<(u32, i64)>) -> TeamSeats {
        TeamSeats {
            campaign: "c".into(),
            activity_id: 1,
            team_id: 9,
            size: 3,
            leader_id: 100,
            expires_at_ms: 1_000,
            seats,
            keep_for: Duration::from_secs(10),
        }
    }

    #[test]
    fn a_join_takes_the_lowest_free_seat_and_says_when_it_was_the_last() {
        let two = team(vec![(1, 100), (3, 102)]);
        assert_eq!(
            decide_join(&two, None, 7, 0),
            JoinOutcome::Joined {
                seat: 2,
                full: true
            }
        );
        let one = team(vec![(1, 100)]);
        assert_eq!(
            decide_join(&one, None, 7, 0),
            JoinOutcome::Joined {
                seat: 2,
                full: false
            }
        );
    }

    #[test]
    fn a_join_is_refused_for_each_reason_in_order() {
        let full = team(vec![(1, 100), (2, 101), (3, 102)]);
        assert_eq!(decide_join(&full, None, 7, 0), JoinOutcome::Full);
        assert_eq!(decide_join(&full, None, 7, 1_000), JoinOutcome::Expired);
        assert_eq!(decide_join(&full, None, 100, 0), JoinOutcome::OwnTeam);
        assert_eq!(decide_join(&full, None, 101, 0), JoinOutcome::AlreadyMember);
        let open = team(vec![(1, 100)]);
        assert_eq!(
            decide_join(&open, Some(8), 7, 0),
            JoinOutcome::InAnotherTeam { team_id: 8 }
        );
    }
}
