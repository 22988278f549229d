//! Finding the task a customer acts on: which of the campaign's task and plan activities has it, whether that
//! activity is open, and (in a plan) whether the customer's day has unlocked.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use super::model::{tasks_of, TaskError, TaskSpec};
use super::progress::{plan_eligible, plan_start, shanghai_day_start};
use crate::calendar::ActivityKind;
use crate::campaigns::gate::{activity_open, GateError};
use crate::entities::activities;

/// A task where it lives: its activity, and its plan day (1-based) if it is in a plan.
#[derive(Debug, Clone)]
pub struct Located {
    pub activity: activities::Model,
    pub task: TaskSpec,
    pub day: Option<u32>,
    /// A plan's number of days (who it is for depends on it).
    pub plan_days: u32,
}

/// The kinds the task engine reads.
pub const TASK_KINDS: [ActivityKind; 2] = [ActivityKind::Task, ActivityKind::Plan];

/// The campaign's task and plan activities, in calendar order.
pub async fn task_activities(
    conn: &impl ConnectionTrait,
    campaign_id: i64,
) -> Result<Vec<activities::Model>, DbErr> {
    crate::campaigns::gate::campaign_activities(conn, campaign_id, &TASK_KINDS).await
}

fn kind_of(activity: &activities::Model) -> ActivityKind {
    match activity.kind.as_str() {
        "plan" => ActivityKind::Plan,
        _ => ActivityKind::Task,
    }
}

/// Every task of these activities that `wanted` picks.
pub fn tasks_where(
    activities: &[activities::Model],
    wanted: impl Fn(&TaskSpec) -> bool,
) -> Vec<Located> {
    let mut found = Vec::new();
    for activity in activities {
        let plan = kind_of(activity) == ActivityKind::Plan;
        let tasks = tasks_of(kind_of(activity), &activity.config);
        let plan_days = if plan { tasks.len() as u32 } else { 0 };
        for (n, task) in tasks.into_iter().enumerate() {
            if wanted(&task) {
                found.push(Located {
                    activity: activity.clone(),
                    task,
                    day: plan.then_some(n as u32 + 1),
                    plan_days,
                });
            }
        }
    }
    found
}

/// Whether the customer may act on `located` now: its activity open, and in a plan, the customer new to it and
/// its day unlocked.
pub fn may_act(
    located: &Located,
    first_seen: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), TaskError> {
    if !activity_open(&located.activity, now) {
        return Err(GateError::ActivityNotLive.into());
    }
    if let Some(day) = located.day {
        let activity = &located.activity;
        if !plan_eligible(activity, located.plan_days, first_seen) {
            return Err(TaskError::NotNewCustomer);
        }
        if now < shanghai_day_start(plan_start(activity, first_seen), u64::from(day - 1)) {
            return Err(TaskError::PlanDayLocked);
        }
    }
    Ok(())
}

/// The first of `found` the customer may act on now, or why none: `activity_not_found` for none at all, else
/// the refusal of the first.
pub fn first_actionable(
    found: Vec<Located>,
    first_seen: DateTime<Utc>,
    now: DateTime<Utc>,
    none: TaskError,
) -> Result<Located, TaskError> {
    let mut refusal: Option<TaskError> = None;
    for located in found {
        match may_act(&located, first_seen, now) {
            Ok(()) => return Ok(located),
            // An open activity's refusal (a locked day, not a new customer) says more than a closed one's.
            Err(error) => match refusal {
                Some(TaskError::Gate(GateError::ActivityNotLive)) | None => refusal = Some(error),
                Some(_) => {}
            },
        }
    }
    Err(refusal.unwrap_or(none))
}

/// The task `task_id` of `activity`.
pub fn task_in(activity: &activities::Model, task_id: &str) -> Result<Located, TaskError> {
    tasks_where(std::slice::from_ref(activity), |t| t.id == task_id)
        .into_iter()
        .next()
        .ok_or(TaskError::TaskNotFound)
}
