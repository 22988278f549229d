//! What a campaign is made of, as operators write it (calendar file or staff API), and the checks every one
//! passes before it is stored: windows in order, activities inside their campaign, and each activity kind's
//! own config.

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lottery::service::PoolInput;
use crate::points::catalogue::ItemInput;
use crate::quiz::levels::QuizConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Quiz,
    Lottery,
    BlindBox,
    Team,
    Poster,
    Referral,
    PointsWeek,
    Task,
    Calculator,
}

impl ActivityKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ActivityKind::Quiz => "quiz",
            ActivityKind::Lottery => "lottery",
            ActivityKind::BlindBox => "blind_box",
            ActivityKind::Team => "team",
            ActivityKind::Poster => "poster",
            ActivityKind::Referral => "referral",
            ActivityKind::PointsWeek => "points_week",
            ActivityKind::Task => "task",
            ActivityKind::Calculator => "calculator",
        }
    }
}

/// A campaign as written by operators. Times are `YYYY-MM-DD HH:MM` in Asia/Shanghai, or RFC 3339 with an offset.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub slug: String,
    pub name: String,
    pub theme: String,
    pub year: i32,
    pub quarter: i16,
    pub preheat_at: String,
    pub starts_at: String,
    pub ends_at: String,
    pub rules_text: String,
    #[serde(default)]
    pub prize_summary: String,
    #[serde(default)]
    pub activities: Vec<ActivityInput>,
    /// Prize pools published with the campaign (created with it; later ones through the staff API, before live).
    #[serde(default)]
    pub pools: Vec<PoolInput>,
    /// The points catalogue published with the campaign.
    #[serde(default)]
    pub catalogue: Vec<ItemInput>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    pub slug: String,
    pub kind: ActivityKind,
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(default = "empty_object")]
    pub config: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// One problem, at a field path such as `activities[1].config.levels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A campaign that passed every check, in UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCampaign {
    pub slug: String,
    pub name: String,
    pub theme: String,
    pub year: i32,
    pub quarter: i16,
    pub preheat_at: DateTime<Utc>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub rules_text: String,
    pub prize_summary: String,
    pub activities: Vec<ValidActivity>,
    pub pools: Vec<PoolInput>,
    pub catalogue: Vec<ItemInput>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidActivity {
    pub slug: String,
    pub kind: ActivityKind,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub config: Value,
}

/// `2026-01-20 10:00` in Asia/Shanghai, or an RFC 3339 time with its offset. Whole seconds: the calendar needs no
/// more, and every database then stores exactly what was given (PostgreSQL keeps microseconds, not nanoseconds).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc).trunc_subsecs(0));
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .ok()?;
    Shanghai
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Shown to customers and staff in Asia/Shanghai.
pub fn shanghai(time: DateTime<Utc>) -> String {
    time.with_timezone(&Shanghai).to_rfc3339()
}

/// The one slug rule of every named thing (campaigns, activities, pools, prizes, items, templates, banks):
/// 2-64 characters of a-z, 0-9 and '-'.
pub fn is_slug(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The largest stock or limit anything may have (prizes, items, coupons): far inside the database's 32-bit
/// columns, so no count wraps on its way in or out.
pub const MAX_COUNT: u32 = 10_000_000;

/// The one rule of an optional stock or limit: absent (none), or 1 to `MAX_COUNT`.
pub fn is_count_limit(limit: Option<u32>) -> bool {
    limit.is_none_or(|l| (1..=MAX_COUNT).contains(&l))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolConfig {
    /// The prize pool this lottery or blind box draws from.
    pool: String,
    #[serde(default)]
    unlock_invites: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamConfig {
    team_size: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PosterConfig {
    template: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferralConfig {
    invites_required: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PointsWeekConfig {
    /// Points granted in the campaign are multiplied by this percentage (200 = double).
    factor_percent: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskConfig {
    tasks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalculatorConfig {
    calculator: String,
}

/// An activity's config as its kind's type; the message names what does not fit.
pub fn read_config<T: DeserializeOwned>(config: &Value) -> Result<T, String> {
    serde_json::from_value(config.clone()).map_err(|e| e.to_string())
}

/// The kind's own rules on its config; the message names what is wrong.
fn check_config(kind: ActivityKind, config: &Value) -> Result<(), String> {
    let range = |value: u32, low: u32, high: u32, name: &str| {
        if (low..=high).contains(&value) {
            Ok(())
        } else {
            Err(format!("{name} must be between {low} and {high}"))
        }
    };
    match kind {
        ActivityKind::Quiz => read_config::<QuizConfig>(config)?.check(),
        ActivityKind::Lottery | ActivityKind::BlindBox => {
            let pool: PoolConfig = read_config(config)?;
            if !is_slug(&pool.pool) {
                return Err("pool must be a slug (a-z, 0-9, '-')".into());
            }
            match pool.unlock_invites {
                Some(n) => range(n, 1, 50, "unlock_invites"),
                None => Ok(()),
            }
        }
        ActivityKind::Team => range(
            read_config::<TeamConfig>(config)?.team_size,
            2,
            10,
            "team_size",
        ),
        ActivityKind::Poster => match read_config::<PosterConfig>(config)?
            .template
            .trim()
            .is_empty()
        {
            true => Err("template must not be empty".into()),
            false => Ok(()),
        },
        ActivityKind::Referral => range(
            read_config::<ReferralConfig>(config)?.invites_required,
            1,
            50,
            "invites_required",
        ),
        ActivityKind::PointsWeek => range(
            read_config::<PointsWeekConfig>(config)?.factor_percent,
            100,
            1000,
            "factor_percent",
        ),
        ActivityKind::Task => match read_config::<TaskConfig>(config)?.tasks.is_empty() {
            true => Err("tasks must list at least one task".into()),
            false => Ok(()),
        },
        ActivityKind::Calculator => match read_config::<CalculatorConfig>(config)?
            .calculator
            .trim()
            .is_empty()
        {
            true => Err("calculator must not be empty".into()),
            false => Ok(()),
        },
    }
}

/// Every check that needs no database. All problems are reported, not just the first.
pub fn validate(input: &CampaignInput) -> Result<ValidCampaign, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut fail = |field: String, message: &str| {
        errors.push(FieldError {
            field,
            message: message.to_owned(),
        })
    };
    if !is_slug(&input.slug) {
        fail("slug".into(), "2-64 characters of a-z, 0-9 and '-'");
    }
    for (field, value, max) in [("name", &input.name, 128), ("theme", &input.theme, 256)] {
        if value.trim().is_empty() || value.chars().count() > max {
            fail(field.into(), "must be non-empty and not too long");
        }
    }
    if input.rules_text.trim().is_empty() {
        fail("rules_text".into(), "the published rules must not be empty");
    }
    if !(2020..=2100).contains(&input.year) {
        fail("year".into(), "must be a year between 2020 and 2100");
    }
    if !(1..=4).contains(&input.quarter) {
        fail("quarter".into(), "must be 1, 2, 3 or 4");
    }
    let mut time = |field: &str, text: &str| {
        let parsed = parse_time(text);
        if parsed.is_none() {
            fail(
                field.into(),
                "not a time: use YYYY-MM-DD HH:MM (Asia/Shanghai) or RFC 3339",
            );
        }
        parsed
    };
    let preheat_at = time("preheat_at", &input.preheat_at);
    let starts_at = time("starts_at", &input.starts_at);
    let ends_at = time("ends_at", &input.ends_at);
    let mut activities = Vec::new();
    if let (Some(preheat_at), Some(starts_at), Some(ends_at)) = (preheat_at, starts_at, ends_at) {
        if preheat_at > starts_at {
            fail("preheat_at".into(), "must not be after starts_at");
        }
        if starts_at >= ends_at {
            fail("ends_at".into(), "must be after starts_at");
        }
        let mut slugs = std::collections::HashSet::new();
        let mut quizzes = 0;
        for (i, activity) in input.activities.iter().enumerate() {
            let at = |field: &str| format!("activities[{i}].{field}");
            if activity.kind == ActivityKind::Quiz {
                quizzes += 1;
                if quizzes > 1 {
                    // Its play URLs and its leaderboard are the campaign's.
                    fail(at("kind"), "a campaign has at most one quiz");
                }
            }
            if !is_slug(&activity.slug) || !slugs.insert(activity.slug.clone()) {
                fail(
                    at("slug"),
                    "a slug (a-z, 0-9, '-') unique within the campaign",
                );
            }
            if activity.name.trim().is_empty() {
                fail(at("name"), "must not be empty");
            }
            let (a_start, a_end) = (
                parse_time(&activity.starts_at),
                parse_time(&activity.ends_at),
            );
            match (a_start, a_end) {
                (Some(a_start), Some(a_end)) => {
                    if a_start >= a_end {
                        fail(at("ends_at"), "must be after starts_at");
                    } else if a_start < starts_at || a_end > ends_at {
                        fail(
                            at("starts_at"),
                            "the activity's window must lie inside the campaign's",
                        );
                    }
                    if let Err(message) = check_config(activity.kind, &activity.config) {
                        fail(at("config"), &message);
                    }
                    activities.push(ValidActivity {
                        slug: activity.slug.clone(),
                        kind: activity.kind,
                        name: activity.name.clone(),
                        starts_at: a_start,
                        ends_at: a_end,
                        config: activity.config.clone(),
                    });
                }
                _ => fail(
                    at("starts_at"),
                    "not a time: use YYYY-MM-DD HH:MM (Asia/Shanghai) or RFC 3339",
                ),
            }
        }
    }
    let mut pool_slugs = std::collections::HashSet::new();
    for (i, pool) in input.pools.iter().enumerate() {
        if let Err(error) = crate::lottery::service::validate(pool) {
            errors.push(FieldError {
                field: format!("pools[{i}]"),
                message: error.to_string(),
            });
        } else if !pool_slugs.insert(pool.slug.as_str()) {
            errors.push(FieldError {
                field: format!("pools[{i}].slug"),
                message: "unique within the campaign".into(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(preheat_at), Some(starts_at), Some(ends_at)) = (preheat_at, starts_at, ends_at)
    else {
        unreachable!("missing times were reported above");
    };
    Ok(ValidCampaign {
        slug: input.slug.clone(),
        name: input.name.trim().to_owned(),
        theme: input.theme.trim().to_owned(),
        year: input.year,
        quarter: input.quarter,
        preheat_at,
        starts_at,
        ends_at,
        rules_text: input.rules_text.clone(),
        prize_summary: input.prize_summary.clone(),
        activities,
        pools: input.pools.clone(),
        catalogue: input.catalogue.clone(),
    })
}

/// Lifecycle status. Draft until staff schedule it; then it follows the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Scheduled,
    Preheat,
    Live,
    Ended,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Preheat => "preheat",
            Status::Live => "live",
            Status::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Status::Draft,
            Status::Scheduled,
            Status::Preheat,
            Status::Live,
            Status::Ended,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

/// Whether customers can take part at `now`: scheduled (not a draft) and inside its live window. The pause
/// switch is separate.
pub fn is_live(campaign: &crate::entities::campaigns::Model, now: DateTime<Utc>) -> bool {
    campaign.status != Status::Draft.as_str()
        && status_at(
            campaign.preheat_at,
            campaign.starts_at,
            campaign.ends_at,
            now,
        ) == Status::Live
}

/// Where a scheduled campaign stands at `now`.
pub fn status_at(
    preheat_at: DateTime<Utc>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Status {
    if now < preheat_at {
        Status::Scheduled
    } else if now < starts_at {
        Status::Preheat
    } else if now < ends_at {
        Status::Live
    } else {
        Status::Ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_shanghai() {
        let t = parse_time("2026-01-20 10:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-20T02:00:00+00:00");
        assert_eq!(parse_time("2026-01-20T10:00:00+08:00"), Some(t));
        assert_eq!(shanghai(t), "2026-01-20T10:00:00+08:00");
        assert!(parse_time("next tuesday").is_none());
    }

    #[test]
    fn status_follows_the_windows() {
        let p = parse_time("2026-01-10 10:00").unwrap();
        let s = parse_time("2026-01-20 10:00").unwrap();
        let e = parse_time("2026-04-01 00:00").unwrap();
        assert_eq!(
            status_at(p, s, e, p - chrono::Duration::seconds(1)),
            Status::Scheduled
        );
        assert_eq!(status_at(p, s, e, p), Status::Preheat);
        assert_eq!(status_at(p, s, e, s), Status::Live);
        assert_eq!(status_at(p, s, e, e), Status::Ended);
    }
}
