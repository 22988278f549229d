//! The mini-program's way in: a new customer's first login through a shared path (`?inviter=CODE`).

use super::credit::{credit, Credited};
use super::model::{Channel, ReferralError};
use crate::rewards::Rewards;
use crate::state::Context;

/// The logins' hook (registered by startup): a new customer's first login through a shared path.
pub struct CreditInvitedLogins;

#[async_trait::async_trait]
impl crate::users::service::InvitedLogins for CreditInvitedLogins {
    async fn credit(&self, cx: Context<'_>, referee_id: i64, code: &str) -> anyhow::Result<()> {
        credit_first_login(cx, referee_id, code).await?;
        Ok(())
    }
}

/// Credits the new customer `referee_id` (whose first login this is) to the owner of `code`, in its own
/// transaction; `None` when the rules refuse it.
pub async fn credit_first_login(
    cx: Context<'_>,
    referee_id: i64,
    code: &str,
) -> Result<Option<Credited>, ReferralError> {
    let Context { db, store, now } = cx;
    let txn = crate::db::begin_write(db).await?;
    let mut rewards = Rewards::new(now);
    let credited = credit(
        &txn,
        store,
        &mut rewards,
        referee_id,
        code,
        Channel::MiniProgram,
        now,
    )
    .await?;
    txn.commit().await?;
    rewards.after_commit(store).await;
    Ok(credited)
}
