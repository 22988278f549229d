//! Shared primitives every domain uses, below all of them: the one slug rule, count limits, time in
//! Asia/Shanghai, activity kinds and a campaign's status by the clock.

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// A day-by-day plan for new customers (the 7-day growth plan): each day a tip and a light task.
    Plan,
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
            ActivityKind::Plan => "plan",
        }
    }
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

/// The Asia/Shanghai date (`2026-12-02`): the day of every "per day" limit.
pub fn day_key(time: DateTime<Utc>) -> String {
    time.with_timezone(&Shanghai).format("%Y-%m-%d").to_string()
}

/// The one slug rule of every named thing (campaigns, activities, pools, prizes, items, templates, banks):
/// 2-64 characters of a-z, 0-9 and '-'.
/// Share codes (a team's, an inviter's): 8 characters a customer can read out without mixing up 0/O or 1/I.
const SHARE_CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

pub fn new_share_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..8)
        .map(|_| SHARE_CODE_ALPHABET[rng.random_range(0..SHARE_CODE_ALPHABET.len())] as char)
        .collect()
}

/// A share code's shape, checked before any lookup.
pub fn is_share_code(code: &str) -> bool {
    code.len() == 8 && code.bytes().all(|b| SHARE_CODE_ALPHABET.contains(&b))
}

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

/// An activity's config as its kind's type; the message names what does not fit.
pub fn read_config<T: DeserializeOwned>(config: &Value) -> Result<T, String> {
    serde_json::from_value(config.clone()).map_err(|e| e.to_string())
}

/// Lifecycle status. Draft until staff schedule it; then it follows the clock.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
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
    scheduled_status(campaign, now) == Some(Status::Live)
}

/// Where a campaign stands by the clock at `now`, once scheduled (`None` for a draft).
pub fn scheduled_status(
    campaign: &crate::entities::campaigns::Model,
    now: DateTime<Utc>,
) -> Option<Status> {
    (campaign.status != Status::Draft.as_str()).then(|| {
        status_at(
            campaign.preheat_at,
            campaign.starts_at,
            campaign.ends_at,
            now,
        )
    })
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
