//! Operator-configured auto-replies: the subscribe welcome, keyword rules (exact or contains, by priority) and
//! menu CLICK keys. Every change is audited.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor};
use crate::entities::auto_reply_rules;
use crate::error::{AppError, ErrorCode};
use crate::wechat::message::Reply;

/// WeChat truncates longer passive text replies.
const MAX_TEXT_BYTES: usize = 2048;
const MAX_PATTERN_CHARS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Subscribe,
    Keyword,
    Click,
}

impl Trigger {
    fn as_str(&self) -> &'static str {
        match self {
            Trigger::Subscribe => "subscribe",
            Trigger::Keyword => "keyword",
            Trigger::Click => "click",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchType {
    Exact,
    Contains,
}

impl MatchType {
    fn as_str(&self) -> &'static str {
        match self {
            MatchType::Exact => "exact",
            MatchType::Contains => "contains",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AutoReplyError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such rule")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for AutoReplyError {
    fn from(error: DbErr) -> Self {
        AutoReplyError::Unexpected(error.into())
    }
}

impl From<AutoReplyError> for AppError {
    fn from(error: AutoReplyError) -> Self {
        match error {
            AutoReplyError::Invalid(message) => AppError::new(ErrorCode::InvalidRule, message),
            AutoReplyError::NotFound => {
                AppError::new(ErrorCode::RuleNotFound, "no such auto-reply rule")
            }
            AutoReplyError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

/// A rule as staff create or replace it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub trigger: Trigger,
    /// Keywords only; `exact` by default.
    pub match_type: Option<MatchType>,
    /// The keyword or menu key; absent for `subscribe`.
    pub pattern: Option<String>,
    #[serde(default)]
    pub priority: i32,
    pub reply: Reply,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub id: i64,
    pub trigger: String,
    pub match_type: String,
    pub pattern: String,
    pub priority: i32,
    pub reply: serde_json::Value,
    pub enabled: bool,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl From<auto_reply_rules::Model> for RuleView {
    fn from(m: auto_reply_rules::Model) -> Self {
        Self {
            id: m.id,
            trigger: m.trigger,
            match_type: m.match_type,
            pattern: m.pattern,
            priority: m.priority,
            reply: m.reply,
            enabled: m.enabled,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

struct ValidRule {
    trigger: Trigger,
    match_type: MatchType,
    pattern: String,
    reply: serde_json::Value,
}

fn is_web_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

fn validate(input: &RuleInput) -> Result<ValidRule, AutoReplyError> {
    let invalid = |m: &str| Err(AutoReplyError::Invalid(m.to_owned()));
    let pattern = input.pattern.as_deref().unwrap_or("").trim().to_owned();
    match input.trigger {
        Trigger::Subscribe if !pattern.is_empty() => {
            return invalid("pattern: a subscribe rule has no pattern")
        }
        Trigger::Subscribe if input.match_type.is_some() => {
            return invalid("match_type: only keyword rules have one")
        }
        Trigger::Keyword | Trigger::Click if pattern.is_empty() => {
            return invalid("pattern: required for keyword and click rules")
        }
        Trigger::Click if input.match_type.is_some() => {
            return invalid("match_type: only keyword rules have one")
        }
        _ => {}
    }
    if pattern.chars().count() > MAX_PATTERN_CHARS {
        return invalid("pattern: at most 64 characters");
    }
    match &input.reply {
        Reply::Text { content } if content.trim().is_empty() => {
            return invalid("reply.content: must not be empty")
        }
        Reply::Text { content } if content.len() > MAX_TEXT_BYTES => {
            return invalid("reply.content: at most 2048 bytes")
        }
        Reply::Image { media_id } if media_id.trim().is_empty() => {
            return invalid("reply.media_id: must not be empty")
        }
        Reply::News {
            title,
            url,
            pic_url,
            ..
        } => {
            if title.trim().is_empty() {
                return invalid("reply.title: must not be empty");
            }
            if !is_web_url(url) || !(pic_url.is_empty() || is_web_url(pic_url)) {
                return invalid("reply.url and reply.pic_url: must be http(s) URLs");
            }
        }
        _ => {}
    }
    Ok(ValidRule {
        trigger: input.trigger,
        match_type: input.match_type.unwrap_or(MatchType::Exact),
        pattern,
        reply: serde_json::to_value(&input.reply)
            .map_err(|e| AutoReplyError::Unexpected(e.into()))?,
    })
}

pub async fn list_rules(db: &DatabaseConnection) -> Result<Vec<RuleView>, AutoReplyError> {
    Ok(auto_reply_rules::Entity::find()
        .order_by_asc(auto_reply_rules::Column::Trigger)
        .order_by_desc(auto_reply_rules::Column::Priority)
        .order_by_asc(auto_reply_rules::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(RuleView::from)
        .collect())
}

pub async fn create_rule(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &RuleInput,
) -> Result<RuleView, AutoReplyError> {
    let rule = validate(input)?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let created = auto_reply_rules::ActiveModel {
        trigger: Set(rule.trigger.as_str().to_owned()),
        match_type: Set(rule.match_type.as_str().to_owned()),
        pattern: Set(rule.pattern),
        priority: Set(input.priority),
        reply: Set(rule.reply),
        enabled: Set(input.enabled),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let view = RuleView::from(created);
    audit::record(
        &txn,
        actor,
        audit::Entry::new("auto_reply.create", "auto_reply_rule", view.id.to_string()).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

pub async fn replace_rule(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    input: &RuleInput,
) -> Result<RuleView, AutoReplyError> {
    let rule = validate(input)?;
    let txn = crate::db::begin_write(db).await?;
    let existing = auto_reply_rules::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AutoReplyError::NotFound)?;
    let before = RuleView::from(existing.clone());
    let mut active: auto_reply_rules::ActiveModel = existing.into();
    active.trigger = Set(rule.trigger.as_str().to_owned());
    active.match_type = Set(rule.match_type.as_str().to_owned());
    active.pattern = Set(rule.pattern);
    active.priority = Set(input.priority);
    active.reply = Set(rule.reply);
    active.enabled = Set(input.enabled);
    active.updated_at = Set(Utc::now());
    let after = RuleView::from(active.update(&txn).await?);
    audit::record(
        &txn,
        actor,
        audit::Entry::new("auto_reply.update", "auto_reply_rule", id.to_string())
            .before(&before)
            .after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

pub async fn delete_rule(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(), AutoReplyError> {
    let txn = crate::db::begin_write(db).await?;
    let existing = auto_reply_rules::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AutoReplyError::NotFound)?;
    let before = RuleView::from(existing);
    auto_reply_rules::Entity::delete_by_id(id)
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("auto_reply.delete", "auto_reply_rule", id.to_string()).before(&before),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

fn answer(rule: &auto_reply_rules::Model) -> Option<(i64, Reply)> {
    match serde_json::from_value(rule.reply.clone()) {
        Ok(reply) => Some((rule.id, reply)),
        Err(error) => {
            tracing::error!(rule = rule.id, %error, "auto-reply rule holds an unreadable reply");
            None
        }
    }
}

/// The enabled rules as one read found them, highest priority first: read once for a whole batch of messages.
pub struct Rules(Vec<auto_reply_rules::Model>);

impl Rules {
    pub async fn load(conn: &impl ConnectionTrait) -> Result<Self, DbErr> {
        Ok(Self(
            auto_reply_rules::Entity::find()
                .filter(auto_reply_rules::Column::Enabled.eq(true))
                .order_by_desc(auto_reply_rules::Column::Priority)
                .order_by_asc(auto_reply_rules::Column::Id)
                .all(conn)
                .await?,
        ))
    }

    fn of(&self, trigger: Trigger) -> impl Iterator<Item = &auto_reply_rules::Model> {
        self.0
            .iter()
            .filter(move |rule| rule.trigger == trigger.as_str())
    }

    /// The highest-priority keyword rule matching `content` (exact after trimming, or contains).
    pub fn keyword(&self, content: &str) -> Option<(i64, Reply)> {
        let text = content.trim();
        self.of(Trigger::Keyword)
            .find(|rule| match rule.match_type.as_str() {
                "contains" => text.contains(rule.pattern.as_str()),
                _ => text == rule.pattern,
            })
            .and_then(answer)
    }

    pub fn subscribe(&self) -> Option<(i64, Reply)> {
        self.of(Trigger::Subscribe).next().and_then(answer)
    }

    pub fn click(&self, key: &str) -> Option<(i64, Reply)> {
        self.of(Trigger::Click)
            .find(|rule| rule.pattern == key)
            .and_then(answer)
    }
}
