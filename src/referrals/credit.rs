//! Crediting a referral: a new customer (a first mini-program login through a shared path, or a first follow
//! through the inviter's QR code) counts for one inviter, once, ever. Not oneself, not in a loop. A credit while
//! a referral activity is open counts toward its milestone, which pays the inviter once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};

use super::model::{code_owner, Channel, ReferralConfig, ReferralError};
use crate::calendar::{is_share_code, read_config, ActivityKind};
use crate::campaigns::gate::{self, Scope};
use crate::entities::{activities, campaigns, referral_codes, referrals};
use crate::rewards::{Paid, Rewards};
use crate::store::StateStore;

/// What a credit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credited {
    pub inviter_id: i64,
    /// Friends credited to the inviter in the open activity, this one included (0 outside any).
    pub in_activity: u64,
    /// What the milestone paid, when this credit reached it.
    pub milestone: Option<Paid>,
}

/// Credits `referee_id` to the owner of `code` on the caller's transaction, if the rules allow; `None` when
/// they do not (an unknown code, oneself, a loop, a referee already credited). Grants go into `rewards`.
pub async fn credit(
    txn: &DatabaseTransaction,
    store: &dyn StateStore,
    rewards: &mut Rewards,
    referee_id: i64,
    code: &str,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<Option<Credited>, ReferralError> {
    if !is_share_code(code) {
        return Ok(None);
    }
    let Some(inviter) = code_owner(txn, code).await? else {
        tracing::info!(
            channel = channel.as_str(),
            "an unknown invite code was not credited"
        );
        return Ok(None);
    };
    let inviter_id = inviter.user_id;
    if inviter_id == referee_id {
        return Ok(None);
    }
    let loop_back = referrals::Entity::find()
        .filter(referrals::Column::RefereeId.eq(inviter_id))
        .filter(referrals::Column::InviterId.eq(referee_id))
        .count(txn)
        .await?;
    if loop_back > 0 {
        return Ok(None);
    }
    let open = open_activity(txn, store, now).await?;
    let row = referrals::ActiveModel {
        referee_id: Set(referee_id),
        inviter_id: Set(inviter_id),
        channel: Set(channel.as_str().into()),
        activity_id: Set(open.as_ref().map(|(activity, _, _)| activity.id)),
        credited_at: Set(now),
        ..Default::default()
    };
    let inserted = referrals::Entity::insert(row)
        .on_conflict(
            OnConflict::column(referrals::Column::RefereeId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    if inserted == 0 {
        return Ok(None);
    }
    crate::outbox::record(
        txn,
        &crate::outbox::Event {
            user_id: inviter_id,
            kind: crate::outbox::EventKind::ReferralCredited,
            source_ref: &format!("referral:{referee_id}"),
            campaign_id: open.as_ref().map(|(_, campaign, _)| campaign.id),
            activity_id: open.as_ref().map(|(activity, _, _)| activity.id),
            subject: None,
            at: now,
        },
    )
    .await?;
    let Some((activity, campaign, config)) = open else {
        return Ok(Some(Credited {
            inviter_id,
            in_activity: 0,
            milestone: None,
        }));
    };
    // One inviter's credits are counted one transaction at a time, so the milestone is seen by exactly one.
    referral_codes::Entity::find_by_id(inviter_id)
        .lock_exclusive()
        .one(txn)
        .await?;
    let in_activity = credited_in(txn, inviter_id, activity.id).await?;
    let milestone = if in_activity >= u64::from(config.invites_required) {
        let source_ref = format!("referral:{}:{inviter_id}", activity.id);
        let paid = rewards
            .pay(
                txn,
                inviter_id,
                &source_ref,
                &config.reward,
                &campaign,
                "referral_milestone",
            )
            .await?;
        (paid != Paid::default()).then_some(paid)
    } else {
        None
    };
    Ok(Some(Credited {
        inviter_id,
        in_activity,
        milestone,
    }))
}

/// Friends credited to the inviter while the activity was open.
pub(super) async fn credited_in(
    conn: &impl ConnectionTrait,
    inviter_id: i64,
    activity_id: i64,
) -> Result<u64, sea_orm::DbErr> {
    referrals::Entity::find()
        .filter(referrals::Column::InviterId.eq(inviter_id))
        .filter(referrals::Column::ActivityId.eq(activity_id))
        .count(conn)
        .await
}

/// The referral activity a credit now counts for: open by its window, in a live, unpaused campaign.
pub(super) async fn open_activity(
    conn: &impl ConnectionTrait,
    store: &dyn StateStore,
    now: DateTime<Utc>,
) -> Result<Option<(activities::Model, campaigns::Model, ReferralConfig)>, ReferralError> {
    let open = gate::activities_open_at(conn, ActivityKind::Referral, now).await?;
    for activity in open {
        let Some(campaign) =
            crate::campaigns::gate::find_campaign_by_id(conn, activity.campaign_id).await?
        else {
            continue;
        };
        let scope = Scope::Activity(&activity.slug, ActivityKind::Referral);
        if gate::check(conn, store, &campaign, scope, now)
            .await
            .is_ok()
        {
            let config = read_config::<ReferralConfig>(&activity.config)
                .map_err(|e| ReferralError::Misconfigured(format!("{}: {e}", activity.slug)))?;
            return Ok(Some((activity, campaign, config)));
        }
    }
    Ok(None)
}
