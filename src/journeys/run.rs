//! One evaluation of every journey that is on (the `journeys.run` job, every minute): who its trigger finds
//! now, less those its condition leaves out, each given one delivery per step (the unique key makes a second
//! evaluation add nothing), queued or held for the journey's delay.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Set};

use super::model::Trigger;
use super::saved;
use crate::calendar::day_key;
use crate::campaigns::gate;
use crate::config::Settings;
use crate::entities::{journeys, push_deliveries, pushes};
use crate::push::deliver::state;
use crate::push::{fanout, saved as pushes_saved, Delivering, PushError};
use crate::segments::{self, RuleContext};
use crate::users::attributes;

/// Customers one journey takes up in one evaluation: the rest wait for the next minute.
const PER_RUN: u64 = 5_000;

/// One step for one customer: who, which step, the message's variables.
struct Step {
    user_id: i64,
    key: String,
    values: BTreeMap<String, String>,
}

/// What one evaluation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JourneyRun {
    pub journeys: u64,
    /// Steps that fired now (new deliveries).
    pub fired: u64,
}

pub async fn run(cx: Delivering<'_>, settings: &Settings) -> Result<JourneyRun, PushError> {
    let mut done = JourneyRun::default();
    let on = journeys::Entity::find()
        .filter(journeys::Column::Enabled.eq(true))
        .all(cx.db)
        .await?;
    for journey in on {
        // One journey that fails (its segment removed, its rule no longer valid) is logged and tried again
        // next minute; the others still run.
        match run_one(cx, settings, &journey).await {
            Ok(fired) => {
                done.journeys += 1;
                done.fired += fired;
            }
            Err(error) => tracing::error!(journey = journey.slug, ?error, "a journey did not run"),
        }
    }
    Ok(done)
}

async fn run_one(
    cx: Delivering<'_>,
    settings: &Settings,
    journey: &journeys::Model,
) -> Result<u64, PushError> {
    let trigger = saved::trigger(journey).ok_or_else(|| {
        PushError::Unexpected(anyhow::anyhow!("the journey's trigger cannot be read"))
    })?;
    let push = pushes_saved::find_by_id(cx.db, journey.push_id).await?;
    let condition = match &journey.condition {
        Some(rule) => segments::compile::compile(cx.db, rule, &RuleContext::new(settings, cx.now))
            .await
            .map_err(segments::SegmentError::from)?,
        None => Condition::all(),
    };
    let steps = found(cx, settings, &trigger, push.id, condition).await?;
    fire(cx, journey, &push, steps).await
}

/// Who the trigger finds now, meets the journey's condition and has not had this step yet (as far as a query
/// can tell: the deliveries' unique key is the last word), at most `PER_RUN`: the condition is part of the
/// search, never a filter after the limit, so customers it leaves out cannot take every run's room.
async fn found(
    cx: Delivering<'_>,
    settings: &Settings,
    trigger: &Trigger,
    push_id: i64,
    condition: Condition,
) -> Result<Vec<Step>, PushError> {
    let now = cx.now;
    let step = |user_id, key: String, values: &[(&str, String)]| Step {
        user_id,
        key,
        values: values
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect(),
    };
    Ok(match trigger {
        Trigger::CouponExpiring { days } => {
            // Reminded coupons are left out by their step: the window's coupons are read whole.
            let until = now + Duration::days(i64::from(*days));
            let reminded =
                reminded_steps(cx, push_id, now - Duration::days(i64::from(*days))).await?;
            let steps = crate::coupons::service::expiring_between(cx.db, now, until, 200_000)
                .await?
                .into_iter()
                .filter(|coupon| !reminded.contains(&format!("coupon:{}", coupon.code)))
                .map(|coupon| {
                    step(
                        coupon.user_id,
                        format!("coupon:{}", coupon.code),
                        &[
                            ("coupon_name", coupon.name.chars().take(20).collect()),
                            ("coupon_expires_on", day_key(coupon.expires_at)),
                        ],
                    )
                })
                .collect();
            let mut steps = meeting(cx, condition, steps).await?;
            steps.truncate(PER_RUN as usize);
            steps
        }
        Trigger::PlanDay => {
            let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
            let mut steps = Vec::new();
            for reminder in crate::tasks::service::plan_reminders(cx.db, today).await? {
                if crate::tasks::service::plan_finished(
                    cx.db,
                    reminder.activity_id,
                    reminder.user_id,
                )
                .await?
                {
                    continue;
                }
                steps.push(step(
                    reminder.user_id,
                    format!("plan:{}:{}", reminder.activity_id, reminder.day),
                    &[
                        ("plan_day", reminder.day.to_string()),
                        ("plan_tip", reminder.tip.chars().take(20).collect()),
                    ],
                ));
            }
            meeting(cx, condition, steps).await?
        }
        Trigger::Dormant { days } => {
            let before = now - Duration::days(i64::from(*days));
            // Woken since they were last active: still that spell, whenever it began.
            let awake = attributes::not_reached_since_active(|user, last_active| {
                fanout::recipients_since(push_id, user, last_active)
            });
            let condition = Condition::all().add(condition).add(awake);
            attributes::inactive_since(cx.db, before, condition, 0, PER_RUN)
                .await?
                .into_iter()
                // Once per spell: a customer who comes back and goes quiet again is woken again.
                .map(|(user_id, last)| step(user_id, format!("dormant:{}", day_key(last)), &[]))
                .collect()
        }
        Trigger::ContentViewed {
            category,
            within_hours,
        } => {
            let since = now - Duration::hours(i64::from(*within_hours));
            let followed_up = fanout::recipients(push_id);
            let candidates = attributes::ids_meeting(
                Condition::all()
                    .add(condition)
                    .add(attributes::id_not_in(followed_up)),
            );
            crate::behaviour::matching::viewers(cx.db, category, since, candidates, PER_RUN)
                .await?
                .into_iter()
                .map(|user_id| step(user_id, format!("content:{category}"), &[]))
                .collect()
        }
        Trigger::PreAnnouncement {
            campaign,
            segment,
            hours_before,
        } => {
            let Some(campaign) = gate::find_campaign(cx.db, campaign).await? else {
                return Ok(Vec::new());
            };
            let opens = campaign.starts_at - Duration::hours(i64::from(*hours_before));
            if now < opens || now >= campaign.starts_at {
                return Ok(Vec::new());
            }
            let rules = RuleContext::new(settings, now);
            let members = segments::saved::find(cx.db, segment).await?;
            // Each part whole: a rule's `or` or `not` must not take in what is added beside it.
            let members = segments::compile::compile(cx.db, &members.rule, &rules)
                .await
                .map_err(segments::SegmentError::from)?;
            let condition = Condition::all()
                .add(members)
                .add(condition)
                .add(attributes::id_not_in(fanout::recipients(push_id)));
            let ids = attributes::member_ids(cx.db, condition, 0, PER_RUN).await?;
            let starts = day_key(campaign.starts_at);
            let name: String = campaign.name.chars().take(20).collect();
            ids.into_iter()
                .map(|user_id| {
                    step(
                        user_id,
                        format!("announce:{}", campaign.id),
                        &[
                            ("campaign_name", name.clone()),
                            ("campaign_starts_on", starts.clone()),
                        ],
                    )
                })
                .collect()
        }
    })
}

/// The steps whose customers meet `condition`, by the database (every enabled customer meets an empty one).
async fn meeting(
    cx: Delivering<'_>,
    condition: Condition,
    steps: Vec<Step>,
) -> Result<Vec<Step>, PushError> {
    if steps.is_empty() {
        return Ok(steps);
    }
    let ids: Vec<i64> = steps.iter().map(|step| step.user_id).collect();
    let mut meeting = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let only = Condition::all()
            .add(condition.clone())
            .add(attributes::among(chunk));
        meeting.extend(attributes::member_ids(cx.db, only, 0, chunk.len() as u64).await?);
    }
    Ok(steps
        .into_iter()
        .filter(|step| meeting.contains(&step.user_id))
        .collect())
}

/// Writes one delivery per new step (queued, or held for the delay) and queues the queued ones.
async fn fire(
    cx: Delivering<'_>,
    journey: &journeys::Model,
    push: &pushes::Model,
    steps: Vec<Step>,
) -> Result<u64, PushError> {
    if steps.is_empty() {
        return Ok(0);
    }
    let variants = pushes_saved::variants(push);
    let delay = Duration::minutes(i64::from(journey.delay_minutes));
    let wait_until: Option<DateTime<Utc>> = (journey.delay_minutes > 0).then(|| cx.now + delay);
    let mut fired = 0;
    for chunk in steps.chunks(500) {
        let existing = existing_steps(cx, push.id, chunk).await?;
        let fresh: Vec<&Step> = chunk
            .iter()
            .filter(|step| !existing.contains(&(step.user_id, step.key.clone())))
            .collect();
        let mut rows = Vec::new();
        for step in &fresh {
            let Some(variant) = fanout::pick(push.id, step.user_id, &variants) else {
                continue;
            };
            let mut values = step.values.clone();
            values.insert("today".into(), day_key(cx.now));
            let mut row = fanout::delivery(
                push,
                step.user_id,
                &step.key,
                variant,
                fanout::rendered(variant, &values),
                None,
                cx.now,
            );
            if let Some(until) = wait_until {
                row.status = Set(state::HELD.into());
                row.reason = Set(Some("journey_delay".into()));
                row.not_before = Set(Some(until));
            }
            rows.push(row);
        }
        fanout::insert(cx.db, rows).await?;
        fired += fresh.len() as u64;
        if wait_until.is_none() {
            let queued: Vec<i64> = new_ids(cx, push.id, &fresh).await?;
            fanout::enqueue(cx.store, &queued).await?;
        }
    }
    Ok(fired)
}

/// The steps of `push_id` queued since `since`.
async fn reminded_steps(
    cx: Delivering<'_>,
    push_id: i64,
    since: DateTime<Utc>,
) -> Result<std::collections::HashSet<String>, PushError> {
    use sea_orm::QuerySelect;
    let steps: Vec<String> = push_deliveries::Entity::find()
        .select_only()
        .column(push_deliveries::Column::Step)
        .filter(push_deliveries::Column::PushId.eq(push_id))
        .filter(push_deliveries::Column::QueuedAt.gte(since))
        .into_tuple()
        .all(cx.db)
        .await?;
    Ok(steps.into_iter().collect())
}

/// The (customer, step) pairs of `steps` that already have a delivery.
async fn existing_steps(
    cx: Delivering<'_>,
    push_id: i64,
    steps: &[Step],
) -> Result<std::collections::HashSet<(i64, String)>, PushError> {
    let found = push_deliveries::Entity::find()
        .filter(push_deliveries::Column::PushId.eq(push_id))
        .filter(push_deliveries::Column::UserId.is_in(steps.iter().map(|s| s.user_id)))
        .all(cx.db)
        .await?;
    Ok(found
        .into_iter()
        .map(|delivery| (delivery.user_id, delivery.step))
        .collect())
}

/// The queued deliveries just written for `steps`.
async fn new_ids(cx: Delivering<'_>, push_id: i64, steps: &[&Step]) -> Result<Vec<i64>, PushError> {
    let found = push_deliveries::Entity::find()
        .filter(push_deliveries::Column::PushId.eq(push_id))
        .filter(push_deliveries::Column::UserId.is_in(steps.iter().map(|s| s.user_id)))
        .filter(push_deliveries::Column::Status.eq(state::QUEUED))
        .all(cx.db)
        .await?;
    Ok(found
        .into_iter()
        .filter(|delivery| {
            steps
                .iter()
                .any(|s| s.user_id == delivery.user_id && s.key == delivery.step)
        })
        .map(|delivery| delivery.id)
        .collect())
}
