//! A customer's invite code (made on first need) and the official-account QR code that carries it.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde::Serialize;

use super::model::{ReferralError, SCENE_PREFIX};
use crate::calendar::new_share_code;
use crate::entities::referral_codes;
use crate::state::Context;
use crate::wechat::client::WeChatClient;

/// WeChat's longest temporary QR code: 30 days.
const QR_LIFETIME_SECS: u32 = 30 * 24 * 3600;
/// A cached QR code this close to its expiry is made again, so a poster made now still works for a while.
const QR_RENEW_BEFORE: Duration = Duration::days(3);
/// Longer than WeChat's slowest answer (the client's own timeout); a holder that dies frees it at expiry.
const QR_LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(20);
/// How often, and how many times, a concurrent ask looks for the holder's answer (about 10 s in all).
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(50);
const LOCK_WAITS: usize = 200;

/// The customer's invite code row, made on first need (concurrent first asks end on one row).
pub(super) async fn code_of(
    db: &DatabaseConnection,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<referral_codes::Model, ReferralError> {
    if let Some(found) = referral_codes::Entity::find_by_id(user_id).one(db).await? {
        return Ok(found);
    }
    // A code another customer holds (about one in a trillion per pair) makes the insert do nothing: draw again.
    for _ in 0..3 {
        let txn = crate::db::begin_write(db).await?;
        let made = referral_codes::Entity::insert(referral_codes::ActiveModel {
            user_id: Set(user_id),
            code: Set(new_share_code()),
            qr_url: Set(None),
            qr_expires_at: Set(None),
            created_at: Set(now),
        })
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        let found = referral_codes::Entity::find_by_id(user_id).one(db).await?;
        match found {
            Some(found) => return Ok(found),
            None if made == 0 => continue,
            None => break,
        }
    }
    Err(ReferralError::Unexpected(anyhow::anyhow!(
        "no invite code after three draws"
    )))
}

/// The official-account QR code of the customer's invite code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InviteQr {
    /// What the QR code encodes (WeChat's URL for the scene).
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// The customer's QR code (`QR_STR_SCENE`, scene `inv_<code>`): asked of WeChat once and cached until close to
/// its expiry, not per request. Concurrent first asks (a double tap, a poster made at the same moment) wait for
/// the one that holds the customer's lock, then read what it stored.
pub async fn invite_qr(
    cx: Context<'_>,
    wechat: &WeChatClient,
    user_id: i64,
) -> Result<InviteQr, ReferralError> {
    let Context { db, store, now } = cx;
    let lock = format!("referrals:qr:u{user_id}");
    for _ in 0..LOCK_WAITS {
        if let Some(qr) = cached(&code_of(db, user_id, now).await?, now) {
            return Ok(qr);
        }
        let Some(token) = store.lock(&lock, QR_LOCK_TTL).await? else {
            tokio::time::sleep(LOCK_POLL).await;
            continue;
        };
        // Read again under the lock: its last holder may have just stored the code.
        let row = code_of(db, user_id, now).await?;
        let made = match cached(&row, now) {
            Some(qr) => Ok(qr),
            None => ask_wechat(db, wechat, row, now).await,
        };
        if let Err(error) = store.unlock(&lock, &token).await {
            tracing::warn!(
                ?error,
                "could not release an invite QR lock; it expires by itself"
            );
        }
        return made;
    }
    Err(ReferralError::Busy)
}

fn cached(row: &referral_codes::Model, now: DateTime<Utc>) -> Option<InviteQr> {
    match (&row.qr_url, row.qr_expires_at) {
        (Some(url), Some(expires_at)) if expires_at - now > QR_RENEW_BEFORE => Some(InviteQr {
            url: url.clone(),
            expires_at,
        }),
        _ => None,
    }
}

async fn ask_wechat(
    db: &DatabaseConnection,
    wechat: &WeChatClient,
    row: referral_codes::Model,
    now: DateTime<Utc>,
) -> Result<InviteQr, ReferralError> {
    let scene = format!("{SCENE_PREFIX}{}", row.code);
    let ticket = wechat.create_scene_qr(&scene, QR_LIFETIME_SECS).await?;
    let lifetime = if ticket.expire_seconds > 0 {
        ticket.expire_seconds
    } else {
        QR_LIFETIME_SECS
    };
    let expires_at = now + Duration::seconds(i64::from(lifetime));
    let mut update: referral_codes::ActiveModel = row.into();
    update.qr_url = Set(Some(ticket.url.clone()));
    update.qr_expires_at = Set(Some(expires_at));
    update.update(db).await?;
    Ok(InviteQr {
        url: ticket.url,
        expires_at,
    })
}
