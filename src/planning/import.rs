//! What a campaign is made of, as operators write it (the calendar file `config/calendar/2026.toml` or the
//! staff API), and the checks every one passes before it is stored: windows in order, activities inside their
//! campaign, and each activity kind's own config. This is the one place that knows every activity kind, so it
//! sits above the domains. A calendar file's problems are reported as `file:line: field: message`, so an
//! operator can fix the file before anything is applied.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::calendar::{is_slug, parse_time};
pub use crate::calendar::{read_config, ActivityKind, FieldError};

use crate::calculator::CalculatorConfig;
use crate::coupons::service::TemplateInput;
use crate::lottery::service::PoolInput;
use crate::points::catalogue::ItemInput;
use crate::posters::service::PosterConfig;
use crate::quiz::levels::QuizConfig;
use crate::referrals::service::ReferralConfig;
use crate::tasks::service::{tasks_of, PlanConfig, References, TaskActivityConfig, TaskKind};
use crate::teams::service::TeamConfig;

/// A campaign as written by operators. Times are `YYYY-MM-DD HH:MM` in Asia/Shanghai, or RFC 3339 with an offset.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
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
struct PointsWeekConfig {
    /// Points granted in the campaign are multiplied by this percentage (200 = double).
    factor_percent: u32,
}

/// WeChat's rules for links shared inside WeChat (《微信外部链接内容管理规范》) forbid rewarding the share itself.
const SHARE_RULE: &str =
    "rewards a share, which WeChat's rules for shared links forbid (extra draws or points \
     for a share, 助力, 砍价, 集赞/集卡, share to unlock): reward what the customer does instead";

/// Mechanics WeChat forbids whatever they are called: friends' taps that earn the sharer something.
const FORBIDDEN_MECHANICS: [&str; 4] = ["助力", "砍价", "集赞", "集卡"];
/// Words for a share; a task (what earns a reward) may not be one.
const SHARE_WORDS: [&str; 4] = ["分享", "转发", "share", "forward"];

/// Whether a config, of any kind, makes a share what earns a reward: a key that ties a share to a reward
/// (`share_reward`, `chances_per_share`, `on_share`, `share_to_unlock`), a trigger (`on`, `trigger`, `earn_by`)
/// that is a share, a task that is a share, or a forbidden mechanic named anywhere.
fn rewards_a_share(config: &Value) -> bool {
    fn is_share(text: &str) -> bool {
        let text = text.to_lowercase();
        SHARE_WORDS.iter().any(|word| text.contains(word))
    }
    match config {
        Value::Object(map) => map.iter().any(|(key, value)| {
            let key = key.to_lowercase();
            let earns = [
                "reward", "chance", "point", "unlock", "required", "on_", "per_",
            ];
            (key.contains("share") && earns.iter().any(|word| key.contains(word)))
                || (matches!(key.as_str(), "on" | "trigger" | "earn_by" | "action")
                    && value.as_str().is_some_and(is_share))
                || (key == "tasks"
                    && value.as_array().is_some_and(|tasks| {
                        tasks.iter().any(|t| t.as_str().is_some_and(is_share))
                    }))
                || rewards_a_share(value)
        }),
        Value::Array(items) => items.iter().any(rewards_a_share),
        Value::String(text) => FORBIDDEN_MECHANICS.iter().any(|word| text.contains(word)),
        _ => false,
    }
}

/// What the calendar import warns about but lets the bank's compliance staff decide: each referral activity
/// rewards a follow of the official account, which the official-account rules restrict.
pub fn compliance_warnings(campaign: &CampaignInput) -> Vec<String> {
    campaign
        .activities
        .iter()
        .filter(|activity| activity.kind == ActivityKind::Referral)
        .map(|activity| {
            format!(
                "{}/{}: rewards inviting friends to follow the official account; WeChat's official-account \
                 rules (《微信公众平台运营规范》, 诱导关注) restrict rewards for following: compliance must approve it",
                campaign.slug, activity.slug
            )
        })
        .collect()
}

/// The kind's own rules on its config; the message names what is wrong.
fn check_config(kind: ActivityKind, config: &Value) -> Result<(), String> {
    if rewards_a_share(config) {
        return Err(SHARE_RULE.into());
    }
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
        ActivityKind::Team => read_config::<TeamConfig>(config)?.check(),
        ActivityKind::Poster => read_config::<PosterConfig>(config)?.check(),
        ActivityKind::Referral => read_config::<ReferralConfig>(config)?.check(),
        ActivityKind::PointsWeek => range(
            read_config::<PointsWeekConfig>(config)?.factor_percent,
            100,
            1000,
            "factor_percent",
        ),
        ActivityKind::Task => read_config::<TaskActivityConfig>(config)?.check(),
        ActivityKind::Plan => read_config::<PlanConfig>(config)?.check(),
        ActivityKind::Calculator => read_config::<CalculatorConfig>(config)?.check(),
    }
}

/// What tasks name elsewhere in their campaign (the quiz's level, a poster or team activity) must be there.
fn reference_errors(inputs: &[ActivityInput], valid: &[ValidActivity]) -> Vec<(usize, String)> {
    let quiz_levels = valid
        .iter()
        .find(|a| a.kind == ActivityKind::Quiz)
        .and_then(|a| read_config::<QuizConfig>(&a.config).ok())
        .map_or(0, |quiz| quiz.levels.len() as u32);
    let has_activity = |slug: &str, kind: TaskKind| {
        let wanted = match kind {
            TaskKind::PosterMade => ActivityKind::Poster,
            _ => ActivityKind::Team,
        };
        valid.iter().any(|a| a.slug == slug && a.kind == wanted)
    };
    let refs = References {
        quiz_levels,
        has_activity: &has_activity,
    };
    inputs
        .iter()
        .enumerate()
        .flat_map(|(i, input)| {
            tasks_of(input.kind, &input.config)
                .into_iter()
                .filter_map(|task| task.check_references(&refs).err())
                .map(move |message| (i, message))
                .collect::<Vec<_>>()
        })
        .collect()
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
        for (i, message) in reference_errors(&input.activities, &activities) {
            fail(format!("activities[{i}].config"), &message);
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

/// A calendar file: the coupon templates its prizes and catalogue items issue, then the campaigns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    #[serde(default)]
    pub coupon_templates: Vec<TemplateInput>,
    pub campaigns: Vec<CampaignInput>,
}

/// Reads and checks a calendar; on failure, every problem with its line.
pub fn read(path: &Path) -> Result<Calendar, Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    parse(&path.display().to_string(), &text)
}

pub fn parse(file: &str, text: &str) -> Result<Calendar, Vec<String>> {
    let calendar: Calendar = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| line_of(text, span.start)).unwrap_or(1);
        vec![format!("{file}:{line}: {}", e.message())]
    })?;
    let errors: Vec<String> = calendar
        .campaigns
        .iter()
        .enumerate()
        .flat_map(|(i, campaign)| {
            validate(campaign)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(move |e| (i, e))
        })
        .map(|(i, error)| locate(file, text, i, &error))
        .collect();
    if errors.is_empty() {
        Ok(calendar)
    } else {
        Err(errors)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of `field` (e.g. `activities[1].ends_at`) inside the `index`-th `[[campaigns]]` table: the key's own
/// line when it can be found, else its table's header.
fn locate(file: &str, text: &str, index: usize, error: &FieldError) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let headers = |name: &str, from: usize, to: usize| -> Vec<usize> {
        (from..to).filter(|&n| lines[n].trim() == name).collect()
    };
    let campaigns = headers("[[campaigns]]", 0, lines.len());
    let start = campaigns.get(index).copied().unwrap_or(0);
    let end = campaigns.get(index + 1).copied().unwrap_or(lines.len());
    let (mut from, mut to, mut key) = (start, end, error.field.as_str());
    if let Some(rest) = key.strip_prefix("activities[") {
        if let Some((n, field)) = rest.split_once("].") {
            let activities = headers("[[campaigns.activities]]", start, end);
            if let Some(&header) = n.parse::<usize>().ok().and_then(|n| activities.get(n)) {
                from = header;
                to = activities
                    .iter()
                    .copied()
                    .find(|&h| h > header)
                    .unwrap_or(end);
            }
            key = field;
        }
    } else {
        // Campaign keys come before the first activity table.
        to = headers("[[campaigns.activities]]", start, end)
            .first()
            .copied()
            .unwrap_or(end);
    }
    let key = key.split('.').next().unwrap_or(key);
    let line = (from..to)
        .find(|&n| {
            lines[n].trim_start().starts_with(key)
                && lines[n][lines[n].find(key).unwrap_or(0) + key.len()..]
                    .trim_start()
                    .starts_with('=')
        })
        .unwrap_or(from);
    format!("{file}:{}: campaigns[{index}].{error}", line + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[campaigns]]
slug = "q1-2026"
name = "新春财富嘉年华"
theme = "新春"
year = 2026
quarter = 1
preheat_at = "2026-01-10 10:00"
starts_at = "2026-01-20 10:00"
ends_at = "2026-04-01 00:00"
rules_text = "规则"

[[campaigns.activities]]
slug = "quiz"
kind = "quiz"
name = "压岁钱规划"
starts_at = "2026-01-20 10:00"
ends_at = "2026-03-01 00:00"
config = { bank = "demo", levels = [{ name = "压岁钱规划", questions = 5, seconds_per_question = 20, pass_score = 4 }] }
"#;

    #[test]
    fn a_good_calendar_reads() {
        assert_eq!(parse("c.toml", GOOD).unwrap().campaigns.len(), 1);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let inverted = GOOD.replace(
            r#"ends_at = "2026-03-01 00:00""#,
            r#"ends_at = "2026-01-01 00:00""#,
        );
        let errors = parse("c.toml", &inverted).unwrap_err();
        assert_eq!(
            errors,
            vec!["c.toml:18: campaigns[0].activities[0].ends_at: must be after starts_at"]
        );

        let bad_kind = GOOD.replace(r#"kind = "quiz""#, r#"kind = "karaoke""#);
        let errors = parse("c.toml", &bad_kind).unwrap_err();
        assert!(
            errors[0].starts_with("c.toml:") && errors[0].contains("karaoke"),
            "{errors:?}"
        );

        let bad_quarter = GOOD.replace("quarter = 1", "quarter = 7");
        assert_eq!(
            parse("c.toml", &bad_quarter).unwrap_err(),
            vec!["c.toml:7: campaigns[0].quarter: must be 1, 2, 3 or 4"]
        );

        let bad_config = GOOD.replace(
            r#"levels = [{ name = "压岁钱规划", questions = 5, seconds_per_question = 20, pass_score = 4 }]"#,
            "levels = []",
        );
        let errors = parse("c.toml", &bad_config).unwrap_err();
        assert!(
            errors[0].starts_with("c.toml:19: campaigns[0].activities[0].config:"),
            "{errors:?}"
        );
    }
}
