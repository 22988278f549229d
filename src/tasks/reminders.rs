//! The hook for the new-customer plan's daily reminder: who reaches which plan day on a given Asia/Shanghai
//! day, with the day's tip and task, for the triggered journey that pushes it (the segments and pushes work).

use chrono::{Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;

use super::model::PlanConfig;
use super::progress::{plan_eligible, plan_start, shanghai_day_start};
use crate::calendar::{read_config, ActivityKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanReminder {
    pub user_id: i64,
    pub activity_id: i64,
    pub activity: String,
    /// The plan day (1-based) that unlocks on the day asked about.
    pub day: u32,
    pub tip: String,
    pub task: String,
}

fn midnight(day: NaiveDate) -> chrono::DateTime<Utc> {
    Shanghai
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .expect("Asia/Shanghai has no gaps")
}

/// Every eligible customer whose plan day unlocks on `day`, in the plan activities open that day.
pub async fn plan_reminders(
    db: &DatabaseConnection,
    day: NaiveDate,
) -> Result<Vec<PlanReminder>, DbErr> {
    let (start, end) = (midnight(day), midnight(day + Days::new(1)));
    let plans =
        crate::campaigns::gate::activities_overlapping(db, &[ActivityKind::Plan], start, end)
            .await?;
    let mut reminders = Vec::new();
    for plan in plans {
        let Ok(config) = read_config::<PlanConfig>(&plan.config) else {
            continue;
        };
        let length = config.days.len() as u32;
        for (n, plan_day) in config.days.iter().enumerate() {
            // Day N unlocks N-1 days after the plan's start: those first seen on that earlier date, and on the
            // plan's first day also those first seen in the days before it opened.
            let first = day - Days::new(n as u64);
            let mut from = midnight(first);
            if from <= plan.starts_at {
                from = plan.starts_at - chrono::Duration::days(i64::from(length));
            }
            let seen =
                crate::users::service::first_seen_between(db, from, midnight(first + Days::new(1)))
                    .await?;
            reminders.extend(
                seen.into_iter()
                    .filter(|(_, first_seen)| {
                        plan_eligible(&plan, length, *first_seen)
                            && shanghai_day_start(plan_start(&plan, *first_seen), n as u64)
                                == midnight(day)
                    })
                    .map(|(user_id, _)| PlanReminder {
                        user_id,
                        activity_id: plan.id,
                        activity: plan.slug.clone(),
                        day: n as u32 + 1,
                        tip: plan_day.tip.title.clone(),
                        task: plan_day.task.title.clone(),
                    }),
            );
        }
    }
    Ok(reminders)
}

/// Whether the customer has done every task of the plan activity `activity_id` (its daily reminder stops).
pub async fn plan_finished(
    db: &DatabaseConnection,
    activity_id: i64,
    user_id: i64,
) -> Result<bool, DbErr> {
    let Some(plan) = crate::campaigns::gate::find_activity(db, activity_id).await? else {
        return Ok(false);
    };
    let seen = super::progress::events_of(db, user_id, plan.starts_at).await?;
    let slugs = super::settle::activity_ids(db, plan.campaign_id).await?;
    let Some(first_seen) = crate::users::service::first_seen(db, user_id).await? else {
        return Ok(false);
    };
    Ok(
        super::progress::board(&plan, &seen, &slugs, first_seen)
            .is_ok_and(|board| board.all_done()),
    )
}
