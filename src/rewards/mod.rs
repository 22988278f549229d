//! The one door every grant passes. A reward (points for a campaign, chances in a pool, a coupon) is written on
//! the caller's transaction, once per source reference, so it commits or rolls back with whatever earned it.
//! What the store must learn (a pool's chance counter) is collected by `Rewards` and applied by
//! `Rewards::after_commit`; if the process dies between the commit and that call, reconciliation rebuilds the
//! counter from the grant rows.
//!
//! Every domain grants through here; it sits below them and knows none of them.

mod chances;
mod coupons;
pub mod points;
mod spec;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::entities::user_coupons;
use crate::error::{AppError, ErrorCode};
use crate::store::lottery::LotteryStore;
pub(crate) use chances::granted as chances_granted;
pub use chances::{chances_granted_under, pool_by_slug, within_caps as chances_within_caps};
pub use points::{LedgerEntry, PointsChange, PointsError};
pub use spec::{Paid, RewardSpec};

/// What a grant gives.
#[derive(Debug, Clone)]
pub enum Reward<'a> {
    /// Points, multiplied once by the campaign's live points week.
    Points {
        amount: i64,
        /// What earned them: `quiz_passed`, `lottery_prize` ...
        reason: &'a str,
        campaign: Option<&'a str>,
    },
    Chances(Chances<'a>),
    /// One coupon of a template.
    Coupon {
        template: &'a str,
    },
}

/// Draw chances in one pool of a campaign.
#[derive(Debug, Clone)]
pub struct Chances<'a> {
    pub campaign: &'a str,
    pub pool_id: i64,
    pub amount: u32,
    /// What earned them: `daily_free`, `quiz`, `points_exchange` ...
    pub source: &'a str,
    /// All of `amount` or a refusal (`chance_cap_reached`), instead of as many as the caps leave.
    pub all_or_none: bool,
}

/// One grant to one customer. `source_ref` names what earned it (`quiz:<activity>:<level>:<user>`,
/// `draw:<request id>`): the same reference grants once, whichever instance or retry asks again.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    pub user_id: i64,
    pub source_ref: &'a str,
    pub reward: Reward<'a>,
}

/// What a grant wrote (or, for a repeat of its source reference, found).
#[derive(Debug, Clone)]
pub enum Granted {
    Points {
        entry: LedgerEntry,
        new: bool,
    },
    /// How many chances; 0 for a repeat or a reached cap.
    Chances(u32),
    Coupon(user_coupons::Model),
}

#[derive(Debug, thiserror::Error)]
pub enum RewardError {
    #[error(transparent)]
    Points(#[from] PointsError),
    #[error("no such prize pool")]
    PoolNotFound,
    #[error("this would take you past the pool's chance limit")]
    ChanceCapReached,
    #[error("no such coupon template")]
    CouponTemplateNotFound,
    #[error("every coupon of this template has been issued")]
    CouponsSoldOut,
    #[error("this customer already holds as many of these coupons as allowed")]
    CouponLimitReached,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for RewardError {
    fn from(error: DbErr) -> Self {
        RewardError::Unexpected(error.into())
    }
}

impl From<RewardError> for PointsError {
    fn from(error: RewardError) -> Self {
        match error {
            RewardError::Points(e) => e,
            other => PointsError::Unexpected(other.into()),
        }
    }
}

impl From<RewardError> for AppError {
    fn from(error: RewardError) -> Self {
        let message = error.to_string();
        match error {
            RewardError::Points(e) => e.into(),
            RewardError::PoolNotFound => AppError::new(ErrorCode::PoolNotFound, message),
            RewardError::ChanceCapReached => AppError::new(ErrorCode::ChanceCapReached, message),
            RewardError::CouponTemplateNotFound => {
                AppError::new(ErrorCode::CouponNotFound, message)
            }
            RewardError::CouponsSoldOut => AppError::new(ErrorCode::CouponsSoldOut, message),
            RewardError::CouponLimitReached => {
                AppError::new(ErrorCode::CouponLimitReached, message)
            }
            RewardError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

/// Chances the store must count once the grant rows are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChanceCredit {
    campaign: String,
    pool_id: i64,
    user_id: i64,
    amount: u32,
}

/// The grants of one transaction. Grant on the transaction, commit it, then call `after_commit`.
#[derive(Debug)]
#[must_use = "the store learns of granted chances only through after_commit"]
pub struct Rewards {
    now: DateTime<Utc>,
    credits: Vec<ChanceCredit>,
}

impl Rewards {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now,
            credits: Vec::new(),
        }
    }

    /// Writes `grant` on `txn` (the caller's transaction), once per source reference.
    pub async fn grant(
        &mut self,
        txn: &impl ConnectionTrait,
        grant: &Grant<'_>,
    ) -> Result<Granted, RewardError> {
        match &grant.reward {
            Reward::Points {
                amount,
                reason,
                campaign,
            } => {
                let change = PointsChange {
                    user_id: grant.user_id,
                    delta: *amount,
                    reason,
                    source_ref: grant.source_ref,
                    campaign: *campaign,
                };
                let applied = points::grant(txn, &change, self.now).await?;
                Ok(Granted::Points {
                    entry: applied.entry,
                    new: applied.new,
                })
            }
            Reward::Chances(chances) => {
                let granted =
                    chances::grant(txn, grant.user_id, chances, grant.source_ref, self.now).await?;
                if granted > 0 {
                    self.credits.push(ChanceCredit {
                        campaign: chances.campaign.to_owned(),
                        pool_id: chances.pool_id,
                        user_id: grant.user_id,
                        amount: granted,
                    });
                }
                Ok(Granted::Chances(granted))
            }
            Reward::Coupon { template } => Ok(Granted::Coupon(
                coupons::issue(txn, template, grant.user_id, grant.source_ref, self.now).await?,
            )),
        }
    }

    /// Takes over the grants of `other`, made on a savepoint of this transaction that was released into it.
    pub fn absorb(&mut self, other: Rewards) {
        self.credits.extend(other.credits);
    }

    /// Tells the store what the committed grants changed. The grants stand whatever the store answers: a
    /// failure here is logged, and reconciliation rebuilds the counter from the grant rows.
    pub async fn after_commit<S: LotteryStore + ?Sized>(self, store: &S) {
        for credit in self.credits {
            if let Err(error) = store
                .add_chances(
                    &credit.campaign,
                    credit.pool_id,
                    credit.user_id,
                    credit.amount,
                )
                .await
            {
                tracing::error!(
                    ?error,
                    pool_id = credit.pool_id,
                    "granted chances not yet counted in the store; reconciliation will count them"
                );
            }
        }
    }
}

/// Spends points (`change.delta` negative) on the caller's transaction: the ledger's other door, never below
/// zero, once per source reference. Not a grant, so no points week applies.
/// Returns the entry and whether it is new (false: this source reference spent before).
pub async fn spend_points(
    txn: &impl ConnectionTrait,
    change: &PointsChange<'_>,
    now: DateTime<Utc>,
) -> Result<(LedgerEntry, bool), PointsError> {
    let applied = points::spend(txn, change, now).await?;
    Ok((applied.entry, applied.new))
}
