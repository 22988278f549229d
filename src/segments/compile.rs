//! A parsed rule becomes one SQL condition over `users`: each test a column comparison or an `IN` subquery
//! built by the table's owner (users, behaviour, the outbox). Names the database knows (campaigns) and the
//! configured vocabularies (asset tiers, content categories) are checked here, so a saved rule always runs.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, SelectStatement};
use sea_orm::{Condition, ConnectionTrait, DbErr};

use super::rule::{self, Activity, Cmp, EventSource, Rule, RuleError, Test};
use crate::behaviour::matching::{self as views, ViewFilter};
use crate::campaigns::gate;
use crate::config::Settings;
use crate::outbox;
use crate::users::attributes::{self, TierClock};

/// What a rule is read against: the clock's now and the configured words.
#[derive(Debug, Clone)]
pub struct RuleContext {
    pub now: DateTime<Utc>,
    pub tiers: TierClock,
    pub asset_tiers: Vec<String>,
    pub content_categories: Vec<String>,
}

impl RuleContext {
    pub fn new(settings: &Settings, now: DateTime<Utc>) -> Self {
        let segments = &settings.segments;
        Self {
            now,
            tiers: TierClock::at(now, segments.new_customer_days, segments.dormant_days),
            asset_tiers: segments.asset_tiers.clone(),
            content_categories: settings.behaviour.content_categories.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("{0}")]
    Rule(RuleError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Where `value` first appears quoted in `text` (for an error about a name found only after parsing).
fn position_of(text: &str, value: &str) -> usize {
    text.find(&format!("\"{value}\""))
        .map(|byte| text[..byte].chars().count() + 1)
        .unwrap_or(1)
}

/// Parses and checks `text`, and returns its condition.
pub async fn compile(
    conn: &impl ConnectionTrait,
    text: &str,
    cx: &RuleContext,
) -> Result<Condition, CompileError> {
    let parsed = rule::parse(text).map_err(CompileError::Rule)?;
    let refuse = |value: &str, message: String| {
        CompileError::Rule(RuleError {
            at: position_of(text, value),
            message,
        })
    };
    let mut campaigns = HashMap::new();
    for test in parsed.tests() {
        let mut slugs = Vec::new();
        match test {
            Test::AssetTier(values) => {
                if let Some(unknown) = values.iter().find(|v| !cx.asset_tiers.contains(v)) {
                    return Err(refuse(
                        unknown,
                        format!(
                            "asset tier `{unknown}` is not one of {}",
                            cx.asset_tiers.join(", ")
                        ),
                    ));
                }
            }
            Test::Participated(slug) => slugs.push(slug.as_str()),
            Test::Count(activity, _, _) => {
                if let Some(category) = activity.filter("category") {
                    if !cx.content_categories.iter().any(|c| c == category) {
                        return Err(refuse(
                            category,
                            format!(
                                "content category `{category}` is not one of {}",
                                cx.content_categories.join(", ")
                            ),
                        ));
                    }
                }
                slugs.extend(activity.filter("campaign"));
            }
            _ => {}
        }
        for slug in slugs {
            if campaigns.contains_key(slug) {
                continue;
            }
            let campaign = gate::find_campaign(conn, slug)
                .await?
                .ok_or_else(|| refuse(slug, format!("no campaign is named `{slug}`")))?;
            campaigns.insert(slug.to_owned(), campaign.id);
        }
    }
    Ok(condition(&parsed, cx, &campaigns))
}

fn condition(rule: &Rule, cx: &RuleContext, campaigns: &HashMap<String, i64>) -> Condition {
    match rule {
        Rule::All(rules) => rules.iter().fold(Condition::all(), |all, rule| {
            all.add(condition(rule, cx, campaigns))
        }),
        Rule::Any(rules) => rules.iter().fold(Condition::any(), |any, rule| {
            any.add(condition(rule, cx, campaigns))
        }),
        Rule::Not(rule) => condition(rule, cx, campaigns).not(),
        Rule::Test(test) => test_condition(test, cx, campaigns),
    }
}

/// "At least / at most N days ago" over a timestamp, by `by(true, at)` = the timestamp is at or before `at`.
/// Days are whole days elapsed: `joined_days >= 7` is first seen at least seven days before now.
fn days_ago(
    cmp: Cmp,
    days: u32,
    now: DateTime<Utc>,
    by: fn(bool, DateTime<Utc>) -> Condition,
) -> Condition {
    let ago = |days: u32| now - Duration::days(i64::from(days));
    let at_least = |days: u32| by(true, ago(days));
    let fewer_than = |days: u32| by(false, ago(days));
    match cmp {
        Cmp::Ge => at_least(days),
        Cmp::Gt => at_least(days + 1),
        Cmp::Lt => fewer_than(days),
        Cmp::Le => fewer_than(days + 1),
        Cmp::Eq => Condition::all()
            .add(at_least(days))
            .add(fewer_than(days + 1)),
        Cmp::Ne => Condition::all()
            .add(at_least(days))
            .add(fewer_than(days + 1))
            .not(),
    }
}

fn test_condition(test: &Test, cx: &RuleContext, campaigns: &HashMap<String, i64>) -> Condition {
    match test {
        Test::Tier(tiers) => tiers
            .iter()
            .fold(Condition::any(), |any, tier| any.add(cx.tiers.is(*tier))),
        Test::AssetTier(tiers) => attributes::asset_tier_in(tiers),
        Test::Following(yes) => attributes::following(*yes),
        Test::PhoneBound(yes) => attributes::phone_bound(*yes),
        Test::JoinedDays(cmp, days) => days_ago(*cmp, *days, cx.now, attributes::first_seen_by),
        Test::InactiveDays(cmp, days) => days_ago(*cmp, *days, cx.now, attributes::last_active_by),
        Test::Tag(tag) => attributes::tagged(tag),
        Test::Participated(slug) => {
            let id = campaigns[slug];
            Condition::any()
                .add(attributes::id_in(outbox::of_campaign(id)))
                .add(attributes::id_in(views::viewed_campaign(id)))
        }
        Test::Count(activity, cmp, times) => {
            counted(matching(activity, cx.now, campaigns), *cmp, *times)
        }
    }
}

/// One row per matching event or view.
fn matching(
    activity: &Activity,
    now: DateTime<Utc>,
    campaigns: &HashMap<String, i64>,
) -> SelectStatement {
    let since = activity
        .days
        .map(|days| now - Duration::days(i64::from(days)));
    let campaign_id = activity.filter("campaign").map(|slug| campaigns[slug]);
    match activity.source {
        EventSource::View(kind) => views::views(
            kind,
            &ViewFilter {
                page: activity.filter("page").map(str::to_owned),
                category: activity.filter("category").map(str::to_owned),
                content: activity.filter("content").map(str::to_owned),
                campaign_id,
                since,
            },
        ),
        EventSource::Recorded(kind) => {
            outbox::matching(kind, campaign_id, activity.filter("subject"), since)
        }
    }
}

/// The customers whose number of rows in `rows` compares with `times`. A comparison that zero meets
/// (`count(...) < 3`) takes in the customers with no row at all, so it is written as "not among those whose
/// count fails it".
fn counted(mut rows: SelectStatement, cmp: Cmp, times: u32) -> Condition {
    if cmp == Cmp::Ge && times == 1 {
        return attributes::id_in(rows);
    }
    let zero_meets = cmp.holds(0, u64::from(times));
    let having = if zero_meets { cmp.negated() } else { cmp };
    let user_id = Alias::new("user_id");
    let count = Expr::expr(Func::count(Expr::col(user_id.clone())));
    let times = i64::from(times);
    let compared = match having {
        Cmp::Eq => count.eq(times),
        Cmp::Ne => count.ne(times),
        Cmp::Lt => count.lt(times),
        Cmp::Le => count.lte(times),
        Cmp::Gt => count.gt(times),
        Cmp::Ge => count.gte(times),
    };
    rows.group_by_col(user_id).and_having(compared);
    if zero_meets {
        attributes::id_not_in(rows)
    } else {
        attributes::id_in(rows)
    }
}
