//! Progress is a function of what the customer did: the outbox's events, counted against each task. Nothing
//! is counted twice because each event is recorded once per source; nothing is missed because every domain
//! records its event in the transaction that did it.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::model::{PlanConfig, TaskActivityConfig, TaskKind, TaskSpec};
use crate::calendar::{read_config, ActivityKind};
use crate::entities::{activities, customer_events};
use crate::outbox::EventKind;

/// One event as the engine reads it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub kind: EventKind,
    pub subject: Option<String>,
    pub campaign_id: Option<i64>,
    pub activity_id: Option<i64>,
    pub at: DateTime<Utc>,
}

impl Seen {
    /// The event, if its kind is one this build knows.
    fn of(row: customer_events::Model) -> Option<Seen> {
        Some(Seen {
            kind: EventKind::parse(&row.kind)?,
            subject: row.subject,
            campaign_id: row.campaign_id,
            activity_id: row.activity_id,
            at: row.occurred_at,
        })
    }
}

/// The customer's events that tasks count, from `since` on (a phone binding from any time: it is a state).
pub async fn events_of(
    conn: &impl ConnectionTrait,
    user_id: i64,
    since: DateTime<Utc>,
) -> Result<Vec<Seen>, DbErr> {
    let rows = customer_events::Entity::find()
        .filter(customer_events::Column::UserId.eq(user_id))
        .filter(customer_events::Column::Kind.ne(EventKind::ContentOpened.as_str()))
        .filter(
            Condition::any()
                .add(customer_events::Column::OccurredAt.gte(since))
                .add(customer_events::Column::Kind.eq(EventKind::PhoneBound.as_str())),
        )
        .all(conn)
        .await?;
    Ok(rows.into_iter().filter_map(Seen::of).collect())
}

/// Where a task's events must come from: its campaign and activity, and the campaign's activities by slug
/// (a poster or team task naming one).
pub struct Place<'a> {
    pub campaign_id: i64,
    pub activity_id: i64,
    pub activity_ids: &'a HashMap<String, i64>,
}

/// How far `task` is, counting events in `[from, until)`.
pub fn progress(
    task: &TaskSpec,
    seen: &[Seen],
    place: &Place<'_>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> u32 {
    let in_window = |e: &&Seen| e.at >= from && e.at < until;
    let in_campaign = |e: &&Seen| e.campaign_id == Some(place.campaign_id);
    let about = |e: &&Seen, subject: Option<&str>| e.subject.as_deref() == subject;
    let of_kind = |kind: EventKind| seen.iter().filter(move |e| e.kind == kind);
    let named_activity = || {
        task.activity
            .as_ref()
            .map(|slug| place.activity_ids.get(slug).copied().unwrap_or(-1))
    };
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let done = match task.kind {
        TaskKind::CheckIn => {
            let days: BTreeSet<NaiveDate> = of_kind(EventKind::CheckedIn)
                .filter(in_window)
                .filter(in_campaign)
                .filter_map(|e| e.subject.as_deref()?.parse().ok())
                .collect();
            return if task.consecutive {
                longest_run(&days)
            } else {
                count(days.len())
            };
        }
        TaskKind::QuizPass => {
            let level = task.level.map(|l| l.to_string());
            of_kind(EventKind::QuizPassed)
                .filter(in_window)
                .filter(in_campaign)
                .any(|e| about(&e, level.as_deref()))
        }
        TaskKind::ContentRead => of_kind(EventKind::ContentRead).filter(in_window).any(|e| {
            e.activity_id == Some(place.activity_id) && about(&e, task.content.as_deref())
        }),
        TaskKind::PosterMade | TaskKind::TeamCompleted => {
            let kind = match task.kind {
                TaskKind::PosterMade => EventKind::PosterMade,
                _ => EventKind::TeamCompleted,
            };
            let activity = named_activity();
            of_kind(kind)
                .filter(in_window)
                .filter(in_campaign)
                .any(|e| activity.is_none() || e.activity_id == activity)
        }
        TaskKind::ReferralCredited => {
            return count(
                of_kind(EventKind::ReferralCredited)
                    .filter(in_window)
                    .count(),
            )
        }
        TaskKind::PhoneBound => of_kind(EventKind::PhoneBound).any(|e| e.at < until),
        TaskKind::CouponUsed => of_kind(EventKind::CouponUsed)
            .filter(in_window)
            .any(|e| about(&e, task.template.as_deref())),
        TaskKind::FormSubmitted | TaskKind::UploadReviewed => {
            let kind = match task.kind {
                TaskKind::FormSubmitted => EventKind::FormSubmitted,
                _ => EventKind::UploadApproved,
            };
            of_kind(kind)
                .filter(in_window)
                .any(|e| e.activity_id == Some(place.activity_id) && about(&e, Some(&task.id)))
        }
    };
    u32::from(done)
}

/// The most days in a row.
pub fn longest_run(days: &BTreeSet<NaiveDate>) -> u32 {
    let (mut best, mut run, mut last) = (0, 0, None::<NaiveDate>);
    for &day in days {
        run = match last {
            Some(previous) if previous.succ_opt() == Some(day) => run + 1,
            _ => 1,
        };
        best = best.max(run);
        last = Some(day);
    }
    best
}

/// The run of days in a row ending on `today` (or yesterday, when today is not checked in yet).
pub fn streak(days: &BTreeSet<NaiveDate>, today: NaiveDate) -> u32 {
    let mut day = if days.contains(&today) {
        today
    } else {
        match today.pred_opt() {
            Some(yesterday) if days.contains(&yesterday) => yesterday,
            _ => return 0,
        }
    };
    let mut run = 0;
    while days.contains(&day) {
        run += 1;
        match day.pred_opt() {
            Some(previous) => day = previous,
            None => break,
        }
    }
    run
}

/// The start of the Asia/Shanghai day `offset` days after the day of `time`.
pub fn shanghai_day_start(time: DateTime<Utc>, offset: u64) -> DateTime<Utc> {
    let day = time.with_timezone(&Shanghai).date_naive() + Days::new(offset);
    Shanghai
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(time)
}

/// Whether a customer first seen at `first_seen` is one the plan is for: new in the plan's window, shifted by
/// its length so every such customer can finish it before the window ends; a customer first seen in the days
/// just before it opens (too late to finish the previous plan) starts it on its first day.
pub fn plan_eligible(activity: &activities::Model, days: u32, first_seen: DateTime<Utc>) -> bool {
    let length = chrono::Duration::days(i64::from(days));
    activity.starts_at - length <= first_seen && first_seen < activity.ends_at - length
}

/// Where a customer's plan starts: their first visit, or the plan's opening for one first seen just before it.
pub fn plan_start(activity: &activities::Model, first_seen: DateTime<Utc>) -> DateTime<Utc> {
    first_seen.max(activity.starts_at)
}

/// One task's standing.
#[derive(Debug, Clone)]
pub struct TaskStanding {
    pub task: TaskSpec,
    pub progress: u32,
    pub done: bool,
    /// Plans: the day (1-based) and when it unlocks.
    pub day: Option<(u32, DateTime<Utc>)>,
}

/// A task or plan activity's standing for one customer.
#[derive(Debug, Clone)]
pub struct Board {
    pub activity: activities::Model,
    pub kind: ActivityKind,
    pub tasks: Vec<TaskStanding>,
    /// What finishing every task pays (a plan's new-customer pack).
    pub reward: Option<crate::rewards::RewardSpec>,
    /// Plans: whether this customer is new enough to follow it.
    pub eligible: bool,
    /// Plans: the day's tips, by day.
    pub tips: Vec<super::model::Tip>,
}

impl Board {
    pub fn all_done(&self) -> bool {
        self.eligible && self.tasks.iter().all(|t| t.done)
    }
}

/// The standing of `activity` (a task or plan activity) for a customer first seen at `first_seen`.
pub fn board(
    activity: &activities::Model,
    seen: &[Seen],
    activity_ids: &HashMap<String, i64>,
    first_seen: DateTime<Utc>,
) -> Result<Board, String> {
    let place = Place {
        campaign_id: activity.campaign_id,
        activity_id: activity.id,
        activity_ids,
    };
    let stand = |task: TaskSpec, from, until, day| {
        let progress = progress(&task, seen, &place, from, until);
        TaskStanding {
            done: progress >= task.target(),
            progress,
            task,
            day,
        }
    };
    match activity.kind.as_str() {
        "task" => {
            let config: TaskActivityConfig = read_config(&activity.config)?;
            Ok(Board {
                activity: activity.clone(),
                kind: ActivityKind::Task,
                tasks: config
                    .tasks
                    .into_iter()
                    .map(|task| stand(task, activity.starts_at, activity.ends_at, None))
                    .collect(),
                reward: config.reward,
                eligible: true,
                tips: Vec::new(),
            })
        }
        "plan" => {
            let config: PlanConfig = read_config(&activity.config)?;
            let eligible = plan_eligible(activity, config.days.len() as u32, first_seen);
            let start = plan_start(activity, first_seen);
            let mut tips = Vec::new();
            let tasks = config
                .days
                .into_iter()
                .enumerate()
                .map(|(n, day)| {
                    let unlocks = shanghai_day_start(start, n as u64);
                    tips.push(day.tip);
                    // A day's check-in is that day's; its other tasks may be caught up later.
                    let until = match day.task.kind {
                        TaskKind::CheckIn => shanghai_day_start(start, n as u64 + 1),
                        _ => activity.ends_at,
                    };
                    let mut standing =
                        stand(day.task, unlocks, until, Some((n as u32 + 1, unlocks)));
                    standing.done &= eligible;
                    standing
                })
                .collect();
            Ok(Board {
                activity: activity.clone(),
                kind: ActivityKind::Plan,
                tasks,
                reward: Some(config.reward),
                eligible,
                tips,
            })
        }
        other => Err(format!("{other} is not a task or plan activity")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(list: &[&str]) -> BTreeSet<NaiveDate> {
        list.iter().map(|d| d.parse().unwrap()).collect()
    }

    #[test]
    fn runs_and_streaks_count_days_in_a_row() {
        let checked = days(&[
            "2026-01-20",
            "2026-01-21",
            "2026-01-23",
            "2026-01-24",
            "2026-01-25",
        ]);
        assert_eq!(longest_run(&checked), 3);
        assert_eq!(streak(&checked, "2026-01-25".parse().unwrap()), 3);
        assert_eq!(
            streak(&checked, "2026-01-26".parse().unwrap()),
            3,
            "today not yet"
        );
        assert_eq!(streak(&checked, "2026-01-27".parse().unwrap()), 0);
        assert_eq!(longest_run(&days(&["2026-02-28", "2026-03-01"])), 2);
    }

    #[test]
    fn a_plan_is_for_customers_who_can_finish_it_in_its_window() {
        let at = |t: &str| crate::calendar::parse_time(t).unwrap();
        let plan = activities::Model {
            id: 1,
            campaign_id: 1,
            slug: "plan".into(),
            kind: "plan".into(),
            name: "plan".into(),
            starts_at: at("2026-10-01 00:00"),
            ends_at: at("2027-01-01 00:00"),
            config: serde_json::json!({}),
            position: 0,
        };
        assert!(
            plan_eligible(&plan, 7, at("2026-09-26 09:00")),
            "just before: catches up"
        );
        assert!(
            !plan_eligible(&plan, 7, at("2026-09-20 09:00")),
            "the previous plan's"
        );
        assert!(plan_eligible(&plan, 7, at("2026-12-24 09:00")));
        assert!(
            !plan_eligible(&plan, 7, at("2026-12-26 09:00")),
            "too late to finish: the next plan's"
        );
    }

    #[test]
    fn a_plan_day_starts_at_shanghai_midnight() {
        let first = crate::calendar::parse_time("2026-01-20 23:30").unwrap();
        assert_eq!(
            shanghai_day_start(first, 1),
            crate::calendar::parse_time("2026-01-21 00:00").unwrap()
        );
    }
}
