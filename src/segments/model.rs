use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use serde::{Deserialize, Serialize};

use super::compile::CompileError;
use super::rule::RuleError;
use crate::entities::segments;
use crate::error::{AppError, ErrorCode};
use crate::users::attributes::MaskedCustomer;

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("rule {0}")]
    Rule(RuleError),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("no such segment")]
    NotFound,
    #[error("a segment already has this slug")]
    SlugTaken,
    #[error("the segment is in use by {0}")]
    InUse(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for SegmentError {
    fn from(error: DbErr) -> Self {
        SegmentError::Unexpected(error.into())
    }
}

impl From<CompileError> for SegmentError {
    fn from(error: CompileError) -> Self {
        match error {
            CompileError::Rule(rule) => SegmentError::Rule(rule),
            CompileError::Database(db) => db.into(),
        }
    }
}

impl From<SegmentError> for AppError {
    fn from(error: SegmentError) -> Self {
        let message = error.to_string();
        match error {
            SegmentError::Rule(_) => {
                AppError::new(ErrorCode::InvalidSegmentRule, message).with_field("rule")
            }
            SegmentError::Invalid { field, .. } => {
                AppError::new(ErrorCode::InvalidSegment, message).with_field(field)
            }
            SegmentError::NotFound => AppError::new(ErrorCode::SegmentNotFound, message),
            SegmentError::SlugTaken => AppError::new(ErrorCode::SlugTaken, message),
            SegmentError::InUse(_) => AppError::new(ErrorCode::SegmentInUse, message),
            SegmentError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

/// A segment as a community manager saves it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    /// 2-64 of a-z, 0-9 and `-`; fixed once created.
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The rule (see the segments documentation for its words).
    pub rule: String,
}

/// A saved segment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SegmentView {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub rule: String,
    /// The official-account tag it was last copied to (for a mass send by tag).
    pub oa_tag_id: Option<i64>,
    pub oa_tag_synced_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<segments::Model> for SegmentView {
    fn from(row: segments::Model) -> Self {
        Self {
            slug: row.slug,
            name: row.name,
            description: row.description,
            rule: row.rule,
            oa_tag_id: row.oa_tag_id,
            oa_tag_synced_at: row.oa_tag_synced_at,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Who a rule takes in now: how many, and the first few, masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub count: u64,
    pub sample: Vec<MaskedCustomer>,
}
