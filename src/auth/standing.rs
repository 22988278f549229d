//! Whether a token's account may still act: the reads of the users and staff tables below the domains, because
//! every request asks them before any domain runs.

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
