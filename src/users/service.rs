//! The customer's own record, the use cases that write it: linking openids into one person (`link_user`),
//! blocking, the phone number, the follow state, and the identities other domains ask for. Kept in one file
//! because they share `UserError` and the row's invariants (one person per unionid); what reads customers for
//! other purposes lives beside it: `activity.rs` (first seen, last active), `reach.rs` (how a push reaches
//! them), `attributes.rs` (what segments ask), `crm.rs` (the CRM import). This file re-exports the first two,
//! so `users::service` stays the domain's one door.

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, Set,
};
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::entities::users;
use crate::error::{AppError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    InvalidOpenid(&'static str),
    #[error("no such user")]
    NotFound,
    #[error("this account is disabled")]
    Disabled,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for UserError {
    fn from(error: DbErr) -> Self {
        UserError::Unexpected(error.into())
    }
}

impl From<UserError> for AppError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::InvalidOpenid(message) => {
                AppError::new(ErrorCode::InvalidOpenid, message).with_field("openid")
            }
            UserError::NotFound => AppError::new(ErrorCode::UserNotFound, "no such user"),
            UserError::Disabled => AppError::new(
                ErrorCode::AccountDisabled,
                "this account is disabled; please contact the bank",
            ),
            UserError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

/// What a new customer's first login through an invite (`inviter`) sets off: the referrals domain's credit.
/// Users sit below referrals, so the login knows only this trait, and startup registers the referrals'
/// implementation beside the routes.
#[async_trait::async_trait]
pub trait InvitedLogins: Send + Sync {
    async fn credit(
        &self,
        cx: crate::state::Context<'_>,
        referee_id: i64,
        code: &str,
    ) -> anyhow::Result<()>;
}

/// What a customer sees of their own record: never the openids or the full phone number.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserProfile {
    pub id: i64,
    pub phone: Option<String>,
    pub follows_official_account: bool,
    pub created_at: DateTime<Utc>,
    /// Made by this very login (`link_user`): what a referral through a shared path counts.
    #[serde(skip)]
    pub created_now: bool,
}

impl From<users::Model> for UserProfile {
    fn from(user: users::Model) -> Self {
        Self {
            id: user.id,
            phone: user.phone_masked,
            follows_official_account: user.oa_following,
            created_at: user.created_at,
            created_now: false,
        }
    }
}

/// WeChat openids are 28 URL-safe characters; allow some room but nothing that could smuggle markup or keys.
fn validate_openid(openid: &str) -> Result<(), UserError> {
    let ok = (6..=64).contains(&openid.len())
        && openid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(UserError::InvalidOpenid(
            "openid: 6-64 characters of A-Z, a-z, 0-9, '_' or '-'",
        ))
    }
}

/// Which WeChat identity an openid belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    MiniProgram,
    OfficialAccount,
}

impl Channel {
    fn column(self) -> users::Column {
        match self {
            Channel::MiniProgram => users::Column::MpOpenid,
            Channel::OfficialAccount => users::Column::OaOpenid,
        }
    }
}

/// The user behind `openid` on `channel`, created on first sight, and linked by `unionid` when WeChat gives one:
/// the mini-program and official-account openids of one person end on one row. Safe under concurrent first
/// logins (one write transaction; the insert does nothing on conflict and the row is read back).
pub async fn link_user(
    db: &DatabaseConnection,
    channel: Channel,
    openid: &str,
    unionid: Option<&str>,
    now: DateTime<Utc>,
) -> Result<UserProfile, UserError> {
    validate_openid(openid)?;
    if let Some(unionid) = unionid {
        validate_openid(unionid)?;
    }
    let txn = crate::db::begin_write(db).await?;
    let find = |column: users::Column, value: &str| {
        users::Entity::find().filter(column.eq(value.to_owned()))
    };
    let by_openid = find(channel.column(), openid).one(&txn).await?;
    let by_unionid = match unionid {
        Some(unionid) => find(users::Column::Unionid, unionid).one(&txn).await?,
        None => None,
    };
    let mut created_now = false;
    let user = match (by_openid, by_unionid) {
        (Some(mine), Some(linked)) if mine.id != linked.id => {
            // Two rows for one person (each made before WeChat told us the unionid). Merging what hangs on them
            // is a staff decision; keep using the row of this channel.
            tracing::warn!(
                kept = mine.id,
                other = linked.id,
                "one unionid on two users; not merged"
            );
            mine
        }
        (Some(mine), _) if unionid.is_some() && mine.unionid.is_none() => {
            let mut active: users::ActiveModel = mine.into();
            active.unionid = Set(unionid.map(str::to_owned));
            active.update(&txn).await?
        }
        (Some(mine), _) => mine,
        (None, Some(linked)) => {
            let mut active: users::ActiveModel = linked.into();
            match channel {
                Channel::MiniProgram => active.mp_openid = Set(Some(openid.to_owned())),
                Channel::OfficialAccount => active.oa_openid = Set(Some(openid.to_owned())),
            }
            active.update(&txn).await?
        }
        (None, None) => {
            let mut new_user = users::ActiveModel {
                unionid: Set(unionid.map(str::to_owned)),
                oa_following: Set(false),
                created_at: Set(now),
                last_active_at: Set(now),
                ..Default::default()
            };
            match channel {
                Channel::MiniProgram => new_user.mp_openid = Set(Some(openid.to_owned())),
                Channel::OfficialAccount => new_user.oa_openid = Set(Some(openid.to_owned())),
            }
            created_now = users::Entity::insert(new_user)
                .on_conflict(OnConflict::column(channel.column()).do_nothing().to_owned())
                .exec_without_returning(&txn)
                .await?
                == 1;
            find(channel.column(), openid)
                .one(&txn)
                .await?
                .ok_or_else(|| {
                    UserError::Unexpected(anyhow::anyhow!("user vanished after insert"))
                })?
        }
    };
    if user.disabled_at.is_some() {
        return Err(UserError::Disabled);
    }
    // A login is activity: what keeps a customer out of the dormant tier.
    super::activity::touch_active(&txn, user.id, now).await?;
    txn.commit().await?;
    Ok(UserProfile {
        created_now,
        ..user.into()
    })
}

/// What staff see of an account they blocked or unblocked.
#[derive(Debug, Clone, Serialize)]
pub struct AccountStatus {
    pub id: i64,
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Blocks (or unblocks) a customer account, audited with the reason: a blocked account's tokens are refused
/// at once and it cannot log in again.
pub async fn set_disabled(
    db: &DatabaseConnection,
    actor: &Actor,
    user_id: i64,
    disabled: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<AccountStatus, UserError> {
    let txn = crate::db::begin_write(db).await?;
    let user = users::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or(UserError::NotFound)?;
    let status = |user: &users::Model| AccountStatus {
        id: user.id,
        disabled: user.disabled_at.is_some(),
        disabled_at: user.disabled_at,
    };
    let before = status(&user);
    if before.disabled == disabled {
        return Ok(before);
    }
    let mut active: users::ActiveModel = user.into();
    active.disabled_at = Set(disabled.then_some(now));
    let after = status(&active.update(&txn).await?);
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    audit::record(
        &txn,
        actor,
        audit::Entry::new(action, "user", user_id.to_string())
            .before(&before)
            .after(&after)
            .reason(reason),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Stores the user's phone number encrypted, and its masked form for display.
pub async fn set_phone(
    db: &DatabaseConnection,
    cipher: &super::phone::PhoneCipher,
    user_id: i64,
    phone: &str,
    now: DateTime<Utc>,
) -> Result<UserProfile, UserError> {
    let txn = crate::db::begin_write(db).await?;
    let user = users::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or(UserError::NotFound)?;
    let mut active: users::ActiveModel = user.into();
    active.phone_encrypted = Set(Some(cipher.encrypt(phone)));
    active.phone_masked = Set(Some(crate::telemetry::mask_phone(phone)));
    active.last_active_at = Set(now);
    let updated = active.update(&txn).await?;
    // The first binding only: binding again (a new number) is not a new thing done.
    crate::outbox::record(
        &txn,
        &crate::outbox::Event {
            user_id,
            kind: crate::outbox::EventKind::PhoneBound,
            source_ref: &format!("phone:{user_id}"),
            campaign_id: None,
            activity_id: None,
            subject: None,
            at: now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(updated.into())
}

pub async fn profile(db: &DatabaseConnection, user_id: i64) -> Result<UserProfile, UserError> {
    users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map(UserProfile::from)
        .ok_or(UserError::NotFound)
}

/// Applies a follow (`subscribe`, `SCAN`) or unfollow seen at `at_unix` (WeChat's CreateTime) to the user with
/// this official-account openid, creating them on first sight. An event older than the state it would replace
/// is ignored, so retries and out-of-order deliveries cannot flip a newer state back.
pub async fn record_follow(
    txn: &DatabaseTransaction,
    oa_openid: &str,
    following: bool,
    at_unix: i64,
) -> Result<FollowChange, UserError> {
    let now = Utc::now();
    let new_user = users::ActiveModel {
        oa_openid: Set(Some(oa_openid.to_owned())),
        oa_following: Set(false),
        created_at: Set(now),
        last_active_at: Set(now),
        ..Default::default()
    };
    users::Entity::insert(new_user)
        .on_conflict(
            OnConflict::column(users::Column::OaOpenid)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    let user = users::Entity::find()
        .filter(users::Column::OaOpenid.eq(oa_openid))
        .one(txn)
        .await?
        .ok_or_else(|| UserError::Unexpected(anyhow::anyhow!("user vanished after insert")))?;
    let at = Utc.timestamp_opt(at_unix, 0).single().unwrap_or(now);
    let latest = user.followed_at.max(user.unfollowed_at);
    let stale = latest.is_some_and(|latest| at < latest);
    let unchanged = user.oa_following == following && user.followed_at.is_some() == following;
    let change = FollowChange {
        user_id: user.id,
        first_follow: following
            && !stale
            && user.followed_at.is_none()
            && user.unfollowed_at.is_none(),
    };
    if stale || unchanged {
        return Ok(change);
    }
    let mut active: users::ActiveModel = user.into();
    active.oa_following = Set(following);
    if following {
        active.followed_at = Set(Some(at));
    } else {
        active.unfollowed_at = Set(Some(at));
    }
    active.last_active_at = Set(now);
    active.update(txn).await?;
    Ok(change)
}

/// Whose follow state a follow event touched, and whether it was their first follow ever (what a referral by
/// QR code counts: not a re-follow after an unfollow, not a follower already known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowChange {
    pub user_id: i64,
    pub first_follow: bool,
}

/// A customer's WeChat identities: the mini-program openid (what WeChat's content check of their text is asked
/// with) and the official-account one (what their follower record is asked with).
#[derive(Debug, Clone)]
pub struct Openids {
    pub mini_program: Option<String>,
    pub official_account: Option<String>,
}

pub async fn openids(db: &DatabaseConnection, user_id: i64) -> Result<Openids, UserError> {
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(UserError::NotFound)?;
    Ok(Openids {
        mini_program: user.mp_openid,
        official_account: user.oa_openid,
    })
}

/// The person behind `user_id` once WeChat named their `unionid`: another row already holding it (the same
/// person's earlier identity, e.g. their mini-program one), or this row, which now holds it.
pub async fn person_with_unionid(
    txn: &DatabaseTransaction,
    user_id: i64,
    unionid: &str,
) -> Result<i64, UserError> {
    validate_openid(unionid)?;
    if let Some(other) = users::Entity::find()
        .filter(users::Column::Unionid.eq(unionid))
        .one(txn)
        .await?
    {
        return Ok(other.id);
    }
    users::Entity::update_many()
        .col_expr(
            users::Column::Unionid,
            sea_orm::sea_query::Expr::value(unionid),
        )
        .filter(users::Column::Id.eq(user_id))
        .filter(users::Column::Unionid.is_null())
        .exec(txn)
        .await?;
    Ok(user_id)
}

pub use super::activity::{first_seen, first_seen_between, touch_active};
pub use super::reach::{by_oa_openid, push_targets, set_push_opt_out, PushTarget};
