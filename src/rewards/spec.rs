//! A reward as an activity's config writes it (`reward = { points = 300 }`, `{ chances = 1, pool = "..." }`,
//! `{ coupon = "cash-20" }`, or a mix), and its payment through the one door.

use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde::{Deserialize, Serialize};

use super::{Chances, Grant, Granted, Reward, RewardError, Rewards};
use crate::calendar::is_slug;
use crate::entities::campaigns;

/// The most points one config reward may give: a team or referral reward is a thank-you, not a prize.
const MAX_POINTS: u32 = 100_000;
const MAX_CHANCES: u32 = 20;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardSpec {
    #[serde(default)]
    pub points: u32,
    /// Draw chances in `pool`, a prize pool of the same campaign.
    #[serde(default)]
    pub chances: u32,
    #[serde(default)]
    pub pool: Option<String>,
    /// A coupon template's slug.
    #[serde(default)]
    pub coupon: Option<String>,
}

/// What one payment gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Paid {
    pub points: i64,
    pub chances: u32,
    pub coupon: bool,
}

impl RewardSpec {
    /// The config's own rules; `field` names it in the message.
    pub fn check(&self, field: &str) -> Result<(), String> {
        if self.points == 0 && self.chances == 0 && self.coupon.is_none() {
            return Err(format!("{field} must give points, chances or a coupon"));
        }
        if self.points > MAX_POINTS {
            return Err(format!("{field}.points must be at most {MAX_POINTS}"));
        }
        if self.chances > MAX_CHANCES {
            return Err(format!("{field}.chances must be at most {MAX_CHANCES}"));
        }
        match (&self.pool, self.chances) {
            (None, 1..) => return Err(format!("{field}.pool must name the pool of its chances")),
            (Some(_), 0) => return Err(format!("{field}.pool is set but gives no chances")),
            (Some(pool), _) if !is_slug(pool) => {
                return Err(format!("{field}.pool must be a slug"))
            }
            _ => {}
        }
        match &self.coupon {
            Some(coupon) if !is_slug(coupon) => Err(format!("{field}.coupon must be a slug")),
            _ => Ok(()),
        }
    }
}

impl Rewards {
    /// Pays `spec` to `user_id` on `txn`, once per `source_ref` (a repeat pays nothing again). A coupon that
    /// cannot be issued (sold out, the customer's limit) is left out, on a savepoint, so it does not take the
    /// points and chances with it; anything else fails the payment.
    pub async fn pay(
        &mut self,
        txn: &DatabaseTransaction,
        user_id: i64,
        source_ref: &str,
        spec: &RewardSpec,
        campaign: &campaigns::Model,
        reason: &str,
    ) -> Result<Paid, RewardError> {
        let mut paid = Paid::default();
        let grant = |reward| Grant {
            user_id,
            source_ref,
            reward,
        };
        if spec.points > 0 {
            let points = grant(Reward::Points {
                amount: i64::from(spec.points),
                reason,
                campaign: Some(&campaign.slug),
            });
            if let Granted::Points { entry, new: true } = self.grant(txn, &points).await? {
                paid.points = entry.delta;
            }
        }
        if let (1.., Some(pool_slug)) = (spec.chances, &spec.pool) {
            let pool = super::chances::pool_by_slug(txn, campaign.id, pool_slug)
                .await?
                .ok_or(RewardError::PoolNotFound)?;
            let chances = grant(Reward::Chances(Chances {
                campaign: &campaign.slug,
                pool_id: pool.id,
                amount: spec.chances,
                source: reason,
                all_or_none: false,
            }));
            if let Granted::Chances(granted) = self.grant(txn, &chances).await? {
                paid.chances = granted;
            }
        }
        if let Some(template) = &spec.coupon {
            let savepoint = txn.begin().await?;
            let repeat = super::coupons::issued_under(&savepoint, source_ref).await?;
            let coupon = grant(Reward::Coupon { template });
            match self.grant(&savepoint, &coupon).await {
                Ok(_) => {
                    savepoint.commit().await?;
                    paid.coupon = !repeat;
                }
                Err(RewardError::CouponsSoldOut | RewardError::CouponLimitReached) => {
                    savepoint.rollback().await?;
                    tracing::warn!(template, reason, "a reward's coupon could not be issued");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(paid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(points: u32, chances: u32, pool: Option<&str>) -> RewardSpec {
        RewardSpec {
            points,
            chances,
            pool: pool.map(str::to_owned),
            coupon: None,
        }
    }

    #[test]
    fn a_reward_must_give_something_and_name_the_pool_of_its_chances() {
        assert!(spec(100, 0, None).check("reward").is_ok());
        assert!(spec(0, 1, Some("box-2026")).check("reward").is_ok());
        assert!(spec(0, 0, None).check("reward").is_err());
        assert!(spec(0, 1, None).check("reward").is_err());
        assert!(spec(10, 0, Some("box-2026")).check("reward").is_err());
        assert!(spec(MAX_POINTS + 1, 0, None).check("reward").is_err());
        assert!(spec(0, 1, Some("Not A Slug")).check("reward").is_err());
    }
}
