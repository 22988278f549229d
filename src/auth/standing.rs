//! Whether a token's account may still act: the reads of the users and staff tables below the domains, because
//! every request asks them before any domain runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, QuerySelect};

use super::{AuthError, Role};
use crate::entities::{staff_accounts, users};

/// Whether a token's user may still act: checked on every request, so blocking an account (or deleting its row)
/// takes effect at once rather than when its tokens expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Active,
    Disabled,
    Unknown,
}

pub async fn standing(db: &DatabaseConnection, user_id: i64) -> Result<Standing, DbErr> {
    let disabled_at: Option<Option<DateTime<Utc>>> = users::Entity::find_by_id(user_id)
        .select_only()
        .column(users::Column::DisabledAt)
        .into_tuple()
        .one(db)
        .await?;
    Ok(match disabled_at {
        None => Standing::Unknown,
        Some(Some(_)) => Standing::Disabled,
        Some(None) => Standing::Active,
    })
}

/// How long this instance trusts a customer it has just read as active. Blocking on this instance takes
/// effect at once (the blocking request forgets the customer); on other instances within this time. It keeps a
/// database read off each of a playing customer's requests (a quiz answer is otherwise store-only).
pub const ACTIVE_STANDING_TTL: Duration = Duration::from_secs(1);
/// Past this many remembered customers the memory is emptied rather than grown.
const MAX_REMEMBERED: usize = 100_000;

/// Customers this instance read as active in the last `ACTIVE_STANDING_TTL`.
#[derive(Debug, Default)]
pub struct StandingCache {
    active: Mutex<HashMap<i64, Instant>>,
    /// Moved by every `forget`: a read that began before a block may not remember what it read.
    generation: AtomicU64,
}

impl StandingCache {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Instant>> {
        // Entries are plain timestamps: a panic elsewhere cannot leave one half-written.
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn is_active(&self, user_id: i64) -> bool {
        self.map()
            .get(&user_id)
            .is_some_and(|seen| seen.elapsed() < ACTIVE_STANDING_TTL)
    }

    /// Taken before reading the database; `remember_active` needs it unchanged.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(super) fn remember_active(&self, user_id: i64, read_at_generation: u64) {
        let mut active = self.map();
        // Under the map's lock, so a `forget` cannot slip between this check and the insert.
        if self.generation() != read_at_generation {
            return;
        }
        if active.len() >= MAX_REMEMBERED {
            active.clear();
        }
        active.insert(user_id, Instant::now());
    }

    /// After staff block or unblock `user_id`: the next request reads the database.
    pub fn forget(&self, user_id: i64) {
        let mut active = self.map();
        self.generation.fetch_add(1, Ordering::SeqCst);
        active.remove(&user_id);
    }
}

/// An enabled staff account's username and current role.
pub(super) async fn active_staff(
    db: &DatabaseConnection,
    staff_id: i64,
) -> Result<Option<(String, Role)>, AuthError> {
    match staff_accounts::Entity::find_by_id(staff_id).one(db).await? {
        Some(account) if !account.disabled => {
            let role = Role::parse(&account.role).ok_or_else(|| {
                AuthError::Unexpected(anyhow::anyhow!(
                    "staff account {staff_id} has an unknown role"
                ))
            })?;
            Ok(Some((account.username, role)))
        }
        _ => Ok(None),
    }
}
