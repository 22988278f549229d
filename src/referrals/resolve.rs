//! First follows through an invite code are credited to the person, not to one of their identities: an
//! official-account follower's row has no unionid (the `subscribe` event carries none), so the callback only
//! queues the follow, and this job asks WeChat for the follower's unionid (outside any callback), links it to the
//! same person's mini-program row if there is one, and credits that person once.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, QueryOrder, QuerySelect, Set};

use super::credit::{credit, Credited};
use super::model::{Channel, ReferralError};
use crate::entities::pending_referrals;
use crate::rewards::Rewards;
use crate::state::Context;
use crate::wechat::client::WeChatClient;

/// Follows one pass resolves; the rest wait for the next.
const PER_PASS: u64 = 100;
/// Times WeChat may fail to answer before the follow is credited to its own row (unlinked, but not lost).
const MAX_ATTEMPTS: i32 = 5;

/// Queues a first follow through the invite code `code`, on the callback's transaction.
pub async fn queue_follow(
    txn: &DatabaseTransaction,
    referee_id: i64,
    code: &str,
    followed_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), ReferralError> {
    pending_referrals::Entity::insert(pending_referrals::ActiveModel {
        referee_id: Set(referee_id),
        code: Set(code.to_owned()),
        followed_at: Set(followed_at),
        attempts: Set(0),
    })
    .on_conflict(
        OnConflict::column(pending_referrals::Column::RefereeId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// Credited to an inviter (a milestone may have paid too).
    pub credited: u32,
    /// Not credited: the person counts for someone already, or the code is theirs or unknown.
    pub refused: u32,
    /// WeChat did not answer: tried again next pass.
    pub waiting: u32,
}

/// Resolves the queued follows, oldest first. A follow that fails (WeChat not answering, a misconfigured reward)
/// waits for the next pass and stops no other; after `MAX_ATTEMPTS` it is credited without a unionid, or, if even
/// that fails, given up with an error for staff.
pub async fn resolve_follows(
    cx: Context<'_>,
    wechat: &WeChatClient,
) -> Result<Resolved, ReferralError> {
    let pending = pending_referrals::Entity::find()
        .order_by_asc(pending_referrals::Column::FollowedAt)
        .limit(PER_PASS)
        .all(cx.db)
        .await?;
    let mut resolved = Resolved::default();
    for follow in pending {
        let last_try = follow.attempts + 1 >= MAX_ATTEMPTS;
        match resolve_one(cx, wechat, &follow, last_try).await {
            Ok(Some(_)) => resolved.credited += 1,
            Ok(None) => resolved.refused += 1,
            Err(error) if last_try => {
                tracing::error!(
                    ?error,
                    referee = follow.referee_id,
                    "an invite follow could not be credited; given up"
                );
                pending_referrals::Entity::delete_by_id(follow.referee_id)
                    .exec(cx.db)
                    .await?;
                resolved.refused += 1;
            }
            Err(error) => {
                tracing::warn!(
                    ?error,
                    referee = follow.referee_id,
                    "an invite follow waits for the next pass"
                );
                let attempts = follow.attempts + 1;
                let mut retry: pending_referrals::ActiveModel = follow.into();
                retry.attempts = Set(attempts);
                retry.update(cx.db).await?;
                resolved.waiting += 1;
            }
        }
    }
    Ok(resolved)
}

/// One follow: its unionid (on the last try, none if WeChat still does not answer), the person, the credit.
async fn resolve_one(
    cx: Context<'_>,
    wechat: &WeChatClient,
    follow: &pending_referrals::Model,
    last_try: bool,
) -> Result<Option<Credited>, ReferralError> {
    let Context { db, store, now } = cx;
    let openid = crate::users::service::openids(db, follow.referee_id)
        .await
        .map_err(|e| ReferralError::Unexpected(e.into()))?
        .official_account;
    let unionid = match openid {
        Some(openid) => match wechat.follower_unionid(&openid).await {
            Ok(unionid) => unionid,
            Err(error) if last_try => {
                tracing::error!(
                    ?error,
                    referee = follow.referee_id,
                    "crediting an invite follow without its unionid"
                );
                None
            }
            Err(error) => return Err(error.into()),
        },
        None => None,
    };
    let txn = crate::db::begin_write(db).await?;
    let person = match &unionid {
        Some(unionid) => {
            crate::users::service::person_with_unionid(&txn, follow.referee_id, unionid)
                .await
                .map_err(|e| ReferralError::Unexpected(e.into()))?
        }
        None => follow.referee_id,
    };
    let mut rewards = Rewards::new(now);
    let credited = credit(
        &txn,
        store,
        &mut rewards,
        person,
        &follow.code,
        Channel::OfficialAccount,
        now,
    )
    .await?;
    pending_referrals::Entity::delete_by_id(follow.referee_id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    rewards.after_commit(store).await;
    Ok(credited)
}
