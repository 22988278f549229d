//! A push as community managers write it, and WeChat's content rules checked when it is saved: a push that
//! breaks them is refused whole, never sent in part.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, ErrorCode};
use crate::segments::SegmentError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A mini-program subscribe message: one consent per message.
    Subscribe,
    /// An official-account template message: followers only, a daily cap, no marketing.
    Template,
    /// A mass send to an official-account tag: four a follower a month.
    Mass,
    /// A customer-service message: only inside WeChat's interaction windows.
    CustomerService,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Subscribe => "subscribe",
            Channel::Template => "template",
            Channel::Mass => "mass",
            Channel::CustomerService => "customer_service",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        [
            Channel::Subscribe,
            Channel::Template,
            Channel::Mass,
            Channel::CustomerService,
        ]
        .into_iter()
        .find(|channel| channel.as_str() == text)
    }
}

/// What a push does with a customer reached during the quiet hours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuietHours {
    /// Held until the quiet hours end.
    #[default]
    Hold,
    /// Skipped, counted as `quiet_hours`.
    Drop,
}

impl QuietHours {
    pub fn as_str(self) -> &'static str {
        match self {
            QuietHours::Hold => "hold",
            QuietHours::Drop => "drop",
        }
    }

    pub fn parse(text: &str) -> QuietHours {
        match text {
            "drop" => QuietHours::Drop,
            _ => QuietHours::Hold,
        }
    }
}

/// One version of the message; customers are split between variants by weight (an A/B test).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// 1-16 of A-Z, a-z, 0-9, `_`, `-`.
    pub name: String,
    /// The share of customers (the weights add up to 100).
    #[serde(default = "whole")]
    pub weight: u32,
    /// The WeChat template (subscribe and template channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// The template's fields: key (`thing1`, `time2` ...) to text, with `{{variables}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// The mini-program page the message opens (subscribe; template with the mini-program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// The H5 page a template message opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The text of a customer-service message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The published article (`mpnews` media id) a mass send sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
}

fn whole() -> u32 {
    100
}

/// A push as saved.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushInput {
    /// 2-64 of a-z, 0-9, `-`; fixed once created.
    pub slug: String,
    pub name: String,
    pub channel: Channel,
    /// The saved segment it goes to.
    pub segment: String,
    pub variants: Vec<Variant>,
    #[serde(default)]
    pub quiet_hours: QuietHours,
}

/// A push as staff read it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PushView {
    pub slug: String,
    pub name: String,
    pub channel: Channel,
    pub segment: Option<String>,
    pub variants: Vec<Variant>,
    pub quiet_hours: QuietHours,
    /// draft, scheduled, sending, sent, cancelled
    pub status: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: super::counts::PushCounts,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Marketing(String),
    #[error("results: {0}")]
    InvalidConsent(String),
    #[error("no such push")]
    NotFound,
    #[error("no such journey")]
    JourneyNotFound,
    #[error("a push already has this slug")]
    SlugTaken,
    #[error("{0}")]
    WrongStatus(String),
    #[error("the segment takes in nobody now: nothing was queued")]
    SegmentEmpty,
    #[error("it is {0} in Shanghai, inside the quiet hours: schedule the push, or send it with override_quiet_hours to apply its quiet-hours rule (hold or drop) to every customer")]
    QuietHours(String),
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for PushError {
    fn from(error: DbErr) -> Self {
        PushError::Unexpected(error.into())
    }
}

impl From<crate::store::StoreError> for PushError {
    fn from(error: crate::store::StoreError) -> Self {
        PushError::Unexpected(error.into())
    }
}

impl From<PushError> for AppError {
    fn from(error: PushError) -> Self {
        let message = error.to_string();
        match error {
            PushError::Invalid { field, .. } => {
                AppError::new(ErrorCode::InvalidPush, message).with_field(field)
            }
            PushError::Marketing(_) => AppError::new(ErrorCode::TemplateMarketing, message),
            PushError::InvalidConsent(_) => {
                AppError::new(ErrorCode::InvalidConsent, message).with_field("results")
            }
            PushError::NotFound => AppError::new(ErrorCode::PushNotFound, message),
            PushError::JourneyNotFound => AppError::new(ErrorCode::JourneyNotFound, message),
            PushError::SlugTaken => AppError::new(ErrorCode::SlugTaken, message),
            PushError::WrongStatus(_) => AppError::new(ErrorCode::PushNotEditable, message),
            PushError::SegmentEmpty => AppError::new(ErrorCode::SegmentEmpty, message),
            PushError::QuietHours(_) => AppError::new(ErrorCode::QuietHours, message),
            PushError::Segment(error) => error.into(),
            PushError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}
