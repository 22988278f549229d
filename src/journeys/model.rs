use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::push::{Channel, PushCounts, PushError, QuietHours, Variant};

/// What sets a journey off for a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// An active coupon expires within `days` (1-30): once per coupon.
    CouponExpiring { days: u32 },
    /// A day of a new-customer plan unlocks (Asia/Shanghai), until the customer finishes the plan: once per
    /// plan day.
    PlanDay,
    /// Not active for `days` (7-365): once per dormant spell.
    Dormant { days: u32 },
    /// Content of `category` viewed within the last `within_hours` (1-168): once per customer.
    ContentViewed { category: String, within_hours: u32 },
    /// `hours_before` (1-720) a campaign starts, to the members of `segment`: once per customer.
    PreAnnouncement {
        campaign: String,
        segment: String,
        hours_before: u32,
    },
}

impl Trigger {
    /// The variables this trigger fills in for each step (and the date).
    pub fn variables(&self) -> &'static [&'static str] {
        match self {
            Trigger::CouponExpiring { .. } => &["today", "coupon_name", "coupon_expires_on"],
            Trigger::PlanDay => &["today", "plan_day", "plan_tip"],
            Trigger::PreAnnouncement { .. } => &["today", "campaign_name", "campaign_starts_on"],
            Trigger::Dormant { .. } | Trigger::ContentViewed { .. } => &["today"],
        }
    }

    pub fn check(&self, categories: &[String]) -> Result<(), PushError> {
        let invalid = |message: &str| PushError::Invalid {
            field: "trigger".into(),
            message: message.into(),
        };
        match self {
            Trigger::CouponExpiring { days } if !(1..=30).contains(days) => {
                Err(invalid("days: 1 to 30"))
            }
            Trigger::Dormant { days } if !(7..=365).contains(days) => {
                Err(invalid("days: 7 to 365"))
            }
            Trigger::ContentViewed {
                category,
                within_hours,
            } => {
                if !categories.contains(category) {
                    return Err(invalid(&format!(
                        "category: one of {}",
                        categories.join(", ")
                    )));
                }
                if !(1..=168).contains(within_hours) {
                    return Err(invalid("within_hours: 1 to 168"));
                }
                Ok(())
            }
            Trigger::PreAnnouncement { hours_before, .. } if !(1..=720).contains(hours_before) => {
                Err(invalid("hours_before: 1 to 720"))
            }
            _ => Ok(()),
        }
    }
}

/// A journey as a community manager saves it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyInput {
    pub slug: String,
    pub name: String,
    pub trigger: Trigger,
    /// A segment rule the customer must also meet (`asset_tier = "gold"` ...).
    #[serde(default)]
    pub condition: Option<String>,
    /// Minutes between the trigger and the message (0-10,080: a week).
    #[serde(default)]
    pub delay_minutes: u32,
    pub channel: Channel,
    pub variants: Vec<Variant>,
    #[serde(default)]
    pub quiet_hours: QuietHours,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JourneyView {
    pub slug: String,
    pub name: String,
    pub trigger: Trigger,
    pub condition: Option<String>,
    pub delay_minutes: i32,
    pub channel: Channel,
    pub variants: Vec<Variant>,
    pub quiet_hours: QuietHours,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Its messages so far.
    pub counts: PushCounts,
}
