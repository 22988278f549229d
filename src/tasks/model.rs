//! Task and plan activities as operators write them, checked at import: each task has a kind and exactly that
//! kind's parameters, so a config that does not parse or names a parameter of another kind is refused with the
//! task and field in the message.

use serde::{Deserialize, Serialize};

use crate::calendar::is_slug;
use crate::error::{AppError, ErrorCode};
use crate::rewards::RewardSpec;

pub const MAX_TASKS: usize = 10;
pub const MAX_PLAN_DAYS: usize = 14;
const MAX_FORM_FIELDS: usize = 10;
const MAX_TEXT_CHARS: u32 = 200;
/// WeChat's rules for shared links forbid rewarding a share; a task is what earns, so it may not be one.
const SHARE_WORDS: [&str; 4] = ["分享", "转发", "share", "forward"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Check in on `days` Asia/Shanghai days of the window (`consecutive`: in a row).
    CheckIn,
    /// Pass level `level` of the campaign's quiz.
    QuizPass,
    /// Read content `content` for at least `min_seconds`, timed by the server.
    ContentRead,
    /// Make a poster (of `activity`, or of any poster activity of the campaign).
    PosterMade,
    /// Complete a team (of `activity`, or of any team activity of the campaign).
    TeamCompleted,
    /// Bring in `count` friends credited by the referral rules.
    ReferralCredited,
    /// Bind a phone number (once ever counts).
    PhoneBound,
    /// Use a coupon of template `template` at the counter.
    CouponUsed,
    /// Fill in the activity's form `fields` (kept and shown back).
    FormSubmitted,
    /// Upload an image that passes WeChat's check and staff approve.
    UploadReviewed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A whole number between `min` and `max`.
    Number,
    /// Up to `max_chars` characters.
    Text,
    /// One of `options`.
    Choice,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// The answer's key: a-z, 0-9 and '_'.
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Shown after the field (`元`, `个月`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

fn yes() -> bool {
    true
}

/// One task. The parameters beside `kind` are those of its kind only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Unique within its activity: a-z, 0-9 and '-'.
    pub id: String,
    pub title: String,
    pub kind: TaskKind,
    /// Paid once when the task is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<RewardSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub consecutive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The content's text, shown by the mini-program while it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FormField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// A `task` activity: its tasks, and what finishing all of them pays.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskActivityConfig {
    pub tasks: Vec<TaskSpec>,
    #[serde(default)]
    pub reward: Option<RewardSpec>,
}

/// A day's tip, shown when the day unlocks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tip {
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDay {
    pub tip: Tip,
    pub task: TaskSpec,
}

/// A `plan` activity (the 7-day new-customer plan): day N unlocks on the (N-1)th Asia/Shanghai day after the
/// customer's first login, for customers whose first login falls in the activity's window; finishing every
/// day's task pays `reward` (the new-customer pack).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    pub days: Vec<PlanDay>,
    pub reward: RewardSpec,
}

/// What a task refers to outside itself, for the import to check against the campaign.
pub struct References<'a> {
    pub quiz_levels: u32,
    pub has_activity: &'a dyn Fn(&str, TaskKind) -> bool,
}

impl TaskSpec {
    /// The kind's parameters present, the others absent, all in range.
    pub fn check(&self) -> Result<(), String> {
        let at = |message: &str| Err(format!("task {}: {message}", self.id));
        if !is_slug(&self.id) {
            return Err("a task id is a slug (a-z, 0-9, '-')".into());
        }
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 40 {
            return at("title must be 1-40 characters");
        }
        let lower = title.to_lowercase();
        if SHARE_WORDS.iter().any(|word| lower.contains(word)) {
            return at(
                "rewards a share (its title is one), which WeChat's rules for shared links \
                 forbid: make the task the action behind it (make the poster, pass the level)",
            );
        }
        if let Some(reward) = &self.reward {
            reward.check(&format!("task {}.reward", self.id))?;
        }
        let given: [(&str, bool); 11] = [
            ("days", self.days.is_some()),
            ("consecutive", self.consecutive),
            ("level", self.level.is_some()),
            ("content", self.content.is_some()),
            ("body", self.body.is_some()),
            ("min_seconds", self.min_seconds.is_some()),
            ("activity", self.activity.is_some()),
            ("count", self.count.is_some()),
            ("template", self.template.is_some()),
            ("fields", !self.fields.is_empty()),
            ("prompt", self.prompt.is_some()),
        ];
        let (required, optional): (&[&str], &[&str]) = match self.kind {
            TaskKind::CheckIn => (&["days"], &["consecutive"]),
            TaskKind::QuizPass => (&["level"], &[]),
            TaskKind::ContentRead => (&["content", "min_seconds"], &["body"]),
            TaskKind::PosterMade | TaskKind::TeamCompleted => (&[], &["activity"]),
            TaskKind::ReferralCredited => (&[], &["count"]),
            TaskKind::PhoneBound => (&[], &[]),
            TaskKind::CouponUsed => (&["template"], &[]),
            TaskKind::FormSubmitted => (&["fields"], &[]),
            TaskKind::UploadReviewed => (&["prompt"], &[]),
        };
        for (name, present) in given {
            if present && !required.contains(&name) && !optional.contains(&name) {
                return at(&format!("{name} is not a parameter of this kind of task"));
            }
            if !present && required.contains(&name) {
                return at(&format!("{name} is required for this kind of task"));
            }
        }
        let within = |value: Option<u32>, low: u32, high: u32, name: &str| match value {
            Some(v) if !(low..=high).contains(&v) => {
                Err(format!("task {}: {name} must be {low}-{high}", self.id))
            }
            _ => Ok(()),
        };
        within(self.days, 1, 31, "days")?;
        within(self.level, 1, 20, "level")?;
        within(self.min_seconds, 3, 600, "min_seconds")?;
        within(self.count, 1, 50, "count")?;
        for (name, slug) in [
            ("content", &self.content),
            ("activity", &self.activity),
            ("template", &self.template),
        ] {
            if slug.as_deref().is_some_and(|s| !is_slug(s)) {
                return at(&format!("{name} must be a slug"));
            }
        }
        if self.body.as_ref().is_some_and(|b| b.chars().count() > 2000) {
            return at("body must be at most 2000 characters");
        }
        if self
            .prompt
            .as_ref()
            .is_some_and(|p| p.trim().is_empty() || p.chars().count() > 100)
        {
            return at("prompt must be 1-100 characters");
        }
        if self.fields.len() > MAX_FORM_FIELDS {
            return at(&format!("a form has at most {MAX_FORM_FIELDS} fields"));
        }
        let mut names = std::collections::HashSet::new();
        for field in &self.fields {
            field
                .check()
                .map_err(|message| format!("task {}: field {}: {message}", self.id, field.name))?;
            if !names.insert(field.name.as_str()) {
                return at(&format!("field {} is named twice", field.name));
            }
        }
        Ok(())
    }

    /// What finishing the task takes: days, friends, or one.
    pub fn target(&self) -> u32 {
        match self.kind {
            TaskKind::CheckIn => self.days.unwrap_or(1),
            TaskKind::ReferralCredited => self.count.unwrap_or(1),
            _ => 1,
        }
    }

    /// The task's references to the rest of its campaign: the quiz level, the poster or team activity.
    pub fn check_references(&self, refs: &References<'_>) -> Result<(), String> {
        if let Some(level) = self.level {
            if level > refs.quiz_levels {
                return Err(format!(
                    "task {}: the campaign's quiz has no level {level}",
                    self.id
                ));
            }
        }
        if let Some(activity) = &self.activity {
            if !(refs.has_activity)(activity, self.kind) {
                return Err(format!(
                    "task {}: the campaign has no {} activity {activity}",
                    self.id,
                    match self.kind {
                        TaskKind::PosterMade => "poster",
                        _ => "team",
                    }
                ));
            }
        }
        Ok(())
    }
}

impl FormField {
    fn check(&self) -> Result<(), String> {
        let name_ok = (1..=32).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err("name must be 1-32 characters of a-z, 0-9 and '_'".into());
        }
        if self.label.trim().is_empty() || self.label.chars().count() > 30 {
            return Err("label must be 1-30 characters".into());
        }
        let (numeric, text, choice) = (
            self.min.is_some() || self.max.is_some(),
            self.max_chars.is_some(),
            !self.options.is_empty(),
        );
        match self.kind {
            FieldKind::Number => {
                let (Some(min), Some(max)) = (self.min, self.max) else {
                    return Err("a number field sets min and max".into());
                };
                if min > max || text || choice {
                    return Err("a number field has min <= max and no max_chars or options".into());
                }
            }
            FieldKind::Text => {
                if numeric
                    || choice
                    || self
                        .max_chars
                        .is_some_and(|n| !(1..=MAX_TEXT_CHARS).contains(&n))
                {
                    return Err(format!(
                        "a text field may set max_chars (1-{MAX_TEXT_CHARS}) only"
                    ));
                }
            }
            FieldKind::Choice => {
                if numeric || text || !(2..=10).contains(&self.options.len()) {
                    return Err("a choice field lists 2-10 options only".into());
                }
            }
        }
        Ok(())
    }

    pub fn text_limit(&self) -> u32 {
        self.max_chars.unwrap_or(50)
    }
}

fn check_task_list<'a>(
    tasks: impl Iterator<Item = &'a TaskSpec>,
) -> Result<Vec<&'a TaskSpec>, String> {
    let mut ids = std::collections::HashSet::new();
    let mut all = Vec::new();
    for task in tasks {
        task.check()?;
        if !ids.insert(task.id.as_str()) {
            return Err(format!("task id {} is used twice", task.id));
        }
        all.push(task);
    }
    Ok(all)
}

impl TaskActivityConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.tasks.is_empty() || self.tasks.len() > MAX_TASKS {
            return Err(format!("tasks must list 1-{MAX_TASKS} tasks"));
        }
        check_task_list(self.tasks.iter())?;
        match &self.reward {
            Some(reward) => reward.check("reward"),
            None => Ok(()),
        }
    }
}

impl PlanConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.days.is_empty() || self.days.len() > MAX_PLAN_DAYS {
            return Err(format!("days must list 1-{MAX_PLAN_DAYS} days"));
        }
        for (n, day) in self.days.iter().enumerate() {
            let tip_ok = !day.tip.title.trim().is_empty()
                && day.tip.title.chars().count() <= 40
                && day.tip.body.chars().count() <= 2000;
            if !tip_ok {
                return Err(format!(
                    "day {}: the tip has a title of 1-40 characters and a body of at most 2000",
                    n + 1
                ));
            }
        }
        check_task_list(self.days.iter().map(|day| &day.task))?;
        if let Some(day) = self.days.iter().find(|day| {
            day.task.kind == TaskKind::CheckIn && (day.task.days != Some(1) || day.task.consecutive)
        }) {
            return Err(format!(
                "task {}: a plan day's check-in is that day's: days = 1, not consecutive",
                day.task.id
            ));
        }
        self.reward.check("reward")
    }
}

/// Every task of a task or plan activity's config, for the checks that span a campaign.
pub fn tasks_of(kind: crate::calendar::ActivityKind, config: &serde_json::Value) -> Vec<TaskSpec> {
    use crate::calendar::{read_config, ActivityKind};
    match kind {
        ActivityKind::Task => read_config::<TaskActivityConfig>(config)
            .map(|c| c.tasks)
            .unwrap_or_default(),
        ActivityKind::Plan => read_config::<PlanConfig>(config)
            .map(|c| c.days.into_iter().map(|d| d.task).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Gate(#[from] crate::campaigns::gate::GateError),
    #[error("this activity has no such task")]
    TaskNotFound,
    #[error("no open activity of this campaign has this content")]
    ContentNotFound,
    #[error("you already checked in today")]
    AlreadyCheckedIn,
    #[error("open the content before reporting it read")]
    ContentNotOpened,
    #[error("the content was read for too short a time")]
    ReadTooShort,
    #[error("this day of the plan is not unlocked yet")]
    PlanDayLocked,
    #[error("the plan is for customers whose first visit falls in its window")]
    NotNewCustomer,
    #[error("{0}")]
    InvalidForm(String),
    #[error("the image is larger than {0} bytes")]
    UploadTooLarge(usize),
    #[error("the upload must be a PNG or JPEG image")]
    NotAnImage,
    #[error("the image did not pass WeChat's content check")]
    ContentRejected,
    #[error("an upload for this task is already waiting for review or approved")]
    UploadExists,
    #[error("no such upload")]
    UploadNotFound,
    #[error("this upload has been decided already; decisions are final")]
    UploadDecided,
    #[error("a rejection gives its reason (1-200 characters)")]
    ReasonRequired,
    #[error("the activity's config is broken: {0}")]
    Misconfigured(String),
    #[error(transparent)]
    Rewards(#[from] crate::rewards::RewardError),
    #[error(transparent)]
    WeChat(#[from] crate::wechat::client::WeChatError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for TaskError {
    fn from(error: sea_orm::DbErr) -> Self {
        TaskError::Unexpected(error.into())
    }
}

impl From<crate::store::StoreError> for TaskError {
    fn from(error: crate::store::StoreError) -> Self {
        TaskError::Unexpected(error.into())
    }
}

impl From<TaskError> for AppError {
    fn from(error: TaskError) -> Self {
        let message = error.to_string();
        let code = match error {
            TaskError::Gate(e) => return e.into(),
            TaskError::Rewards(e) => return e.into(),
            TaskError::WeChat(e) => return e.into(),
            TaskError::Unexpected(e) => return AppError::unexpected(e),
            TaskError::Misconfigured(_) => {
                return AppError::unexpected(anyhow::anyhow!(message));
            }
            TaskError::TaskNotFound => ErrorCode::TaskNotFound,
            TaskError::ContentNotFound => ErrorCode::ContentNotFound,
            TaskError::AlreadyCheckedIn => ErrorCode::AlreadyCheckedIn,
            TaskError::ContentNotOpened => ErrorCode::ContentNotOpened,
            TaskError::ReadTooShort => ErrorCode::ReadTooShort,
            TaskError::PlanDayLocked => ErrorCode::PlanDayLocked,
            TaskError::NotNewCustomer => ErrorCode::NotNewCustomer,
            TaskError::InvalidForm(_) => ErrorCode::InvalidForm,
            TaskError::UploadTooLarge(_) => ErrorCode::PayloadTooLarge,
            TaskError::NotAnImage => ErrorCode::UnsupportedMediaType,
            TaskError::ContentRejected => ErrorCode::ContentRejected,
            TaskError::UploadExists => ErrorCode::UploadExists,
            TaskError::UploadNotFound => ErrorCode::UploadNotFound,
            TaskError::UploadDecided => ErrorCode::UploadDecided,
            TaskError::ReasonRequired => ErrorCode::InvalidInput,
        };
        AppError::new(code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(toml: &str) -> Result<(), String> {
        let spec: TaskSpec = toml::from_str(toml).map_err(|e| e.to_string())?;
        spec.check()
    }

    #[test]
    fn a_plan_days_check_in_is_that_days_only() {
        let plan = |days: u32| -> Result<(), String> {
            let text = format!(
                "reward = {{ points = 10 }}\ndays = [{{ tip = {{ title = \"t\", body = \"b\" }}, task = {{ id = \"d1\", title = \"签到\", kind = \"check_in\", days = {days} }} }}]"
            );
            toml::from_str::<PlanConfig>(&text)
                .map_err(|e| e.to_string())?
                .check()
        };
        assert!(plan(1).is_ok());
        assert!(plan(3).unwrap_err().contains("that day's"));
    }

    #[test]
    fn each_kind_takes_its_own_parameters_only() {
        assert!(task(
            "id = \"t1\"\ntitle = \"签到\"\nkind = \"check_in\"\ndays = 7\nconsecutive = true"
        )
        .is_ok());
        assert!(task("id = \"t1\"\ntitle = \"签到\"\nkind = \"check_in\"")
            .unwrap_err()
            .contains("days is required"));
        assert!(
            task("id = \"t1\"\ntitle = \"签到\"\nkind = \"check_in\"\ndays = 3\nlevel = 1")
                .unwrap_err()
                .contains("level is not a parameter")
        );
        assert!(task("id = \"t1\"\ntitle = \"读\"\nkind = \"content_read\"\ncontent = \"c1\"\nmin_seconds = 1").unwrap_err().contains("min_seconds must be"));
        assert!(task("id = \"t1\"\ntitle = \"读\"\nkind = \"karaoke\"").is_err());
        assert!(
            task("id = \"t1\"\ntitle = \"分享活动页面\"\nkind = \"poster_made\"")
                .unwrap_err()
                .contains("share")
        );
        assert!(task("id = \"t1\"\ntitle = \"表\"\nkind = \"form_submitted\"\nfields = [{ name = \"budget\", label = \"预算\", kind = \"number\" }]").unwrap_err().contains("min and max"));
        assert!(task("id = \"t1\"\ntitle = \"表\"\nkind = \"form_submitted\"\nfields = [{ name = \"budget\", label = \"预算\", kind = \"number\", min = 0, max = 100 }]").is_ok());
    }
}
