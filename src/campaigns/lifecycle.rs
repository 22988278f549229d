//! The campaign lifecycle by time: scheduled -> preheat -> live -> ended, each step a scheduler firing at the
//! campaign's own instant (so it is recorded once, and caught up after downtime, in order).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::calendar::{status_at, Status};
use crate::entities::campaigns;

#[derive(Debug, Clone)]
pub struct Transition {
    pub campaign_id: i64,
    pub slug: String,
    pub from: Status,
    pub to: Status,
    pub at: DateTime<Utc>,
}

impl Transition {
    pub fn job_name(&self) -> String {
        format!("campaign.lifecycle:{}:{}", self.slug, self.to.as_str())
    }
}

/// Every step some campaign owes the clock, oldest first.
pub async fn due_transitions(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Transition>> {
    let moving = campaigns::Entity::find()
        .filter(campaigns::Column::Status.is_in([
            Status::Scheduled.as_str(),
            Status::Preheat.as_str(),
            Status::Live.as_str(),
        ]))
        .all(db)
        .await?;
    let mut due = Vec::new();
    for campaign in moving {
        let Some(current) = Status::parse(&campaign.status) else {
            continue;
        };
        let target = status_at(
            campaign.preheat_at,
            campaign.starts_at,
            campaign.ends_at,
            now,
        );
        let steps = [
            (Status::Scheduled, Status::Preheat, campaign.preheat_at),
            (Status::Preheat, Status::Live, campaign.starts_at),
            (Status::Live, Status::Ended, campaign.ends_at),
        ];
        for (from, to, at) in steps {
            if from >= current && to <= target {
                due.push(Transition {
                    campaign_id: campaign.id,
                    slug: campaign.slug.clone(),
                    from,
                    to,
                    at,
                });
            }
        }
    }
    due.sort_by_key(|t| (t.at, t.to));
    Ok(due)
}

/// Moves the campaign to the step's status from any earlier one (never backwards). Instances may run the steps
/// of one campaign in either order (each step is a separate firing); whichever lands last leaves it right.
pub async fn apply(db: &DatabaseConnection, transition: &Transition) -> anyhow::Result<()> {
    let earlier: Vec<&str> = [Status::Scheduled, Status::Preheat, Status::Live]
        .into_iter()
        .filter(|status| *status < transition.to)
        .map(|status| status.as_str())
        .collect();
    let updated = campaigns::Entity::update_many()
        .col_expr(
            campaigns::Column::Status,
            Expr::value(transition.to.as_str()),
        )
        .col_expr(campaigns::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(campaigns::Column::Id.eq(transition.campaign_id))
        .filter(campaigns::Column::Status.is_in(earlier))
        .exec(db)
        .await?;
    if updated.rows_affected == 1 {
        tracing::info!(campaign = %transition.slug, to = transition.to.as_str(), "campaign moved");
    }
    Ok(())
}
