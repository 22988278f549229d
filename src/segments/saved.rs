//! Saved segments: create, change, remove (community managers; audited), list and read, and who they take in.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Deserialize;

use super::compile::{compile, RuleContext};
use super::model::{Preview, SegmentError, SegmentInput, SegmentView};
use crate::audit::{self, Actor};
use crate::entities::segments;
use crate::users::attributes;

/// What names a saved segment from the domains above this one (pushes not yet sent, journeys): startup
/// registers it, so a segment is never removed from under something that still reads it.
#[async_trait::async_trait]
pub trait SegmentUsers: Send + Sync {
    /// What uses the segment `slug`, each as `kind slug` (`push year-end`, `journey q1-preview`).
    async fn using(&self, conn: &DatabaseTransaction, slug: &str) -> Result<Vec<String>, DbErr>;
}

/// Customers a preview shows.
const SAMPLE_SIZE: u64 = 10;

/// A change to a saved segment: everything but its slug.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentChange {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub rule: String,
}

fn check_slug(slug: &str) -> Result<(), SegmentError> {
    match crate::calendar::is_slug(slug) {
        true => Ok(()),
        false => Err(SegmentError::Invalid {
            field: "slug",
            message: "2-64 of a-z, 0-9 and '-'".into(),
        }),
    }
}

fn check_texts(name: &str, description: &str) -> Result<(), SegmentError> {
    if !(1..=64).contains(&name.trim().chars().count()) {
        return Err(SegmentError::Invalid {
            field: "name",
            message: "1-64 characters".into(),
        });
    }
    if description.chars().count() > 500 {
        return Err(SegmentError::Invalid {
            field: "description",
            message: "at most 500 characters".into(),
        });
    }
    Ok(())
}

/// The segment with this slug: the table's one finder.
pub async fn find(
    conn: &impl ConnectionTrait,
    slug: &str,
) -> Result<segments::Model, SegmentError> {
    segments::Entity::find()
        .filter(segments::Column::Slug.eq(slug))
        .one(conn)
        .await?
        .ok_or(SegmentError::NotFound)
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<SegmentView>, SegmentError> {
    Ok(segments::Entity::find()
        .order_by_asc(segments::Column::Slug)
        .all(db)
        .await?
        .into_iter()
        .map(SegmentView::from)
        .collect())
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &SegmentInput,
    cx: &RuleContext,
) -> Result<SegmentView, SegmentError> {
    check_slug(&input.slug)?;
    check_texts(&input.name, &input.description)?;
    compile(db, &input.rule, cx).await?;
    let txn = crate::db::begin_write(db).await?;
    let row = segments::ActiveModel {
        slug: Set(input.slug.clone()),
        name: Set(input.name.trim().to_owned()),
        description: Set(input.description.clone()),
        rule: Set(input.rule.clone()),
        created_by: Set(actor.label.clone()),
        created_at: Set(cx.now),
        updated_at: Set(cx.now),
        ..Default::default()
    };
    let saved = crate::db::insert_new(&txn, row)
        .await?
        .ok_or(SegmentError::SlugTaken)?;
    let view = SegmentView::from(saved);
    audit::record(
        &txn,
        actor,
        audit::Entry::new("segment.create", "segment", view.slug.clone()).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    change: &SegmentChange,
    cx: &RuleContext,
) -> Result<SegmentView, SegmentError> {
    check_texts(&change.name, &change.description)?;
    compile(db, &change.rule, cx).await?;
    let txn = crate::db::begin_write(db).await?;
    let before = find(&txn, slug).await?;
    let mut row: segments::ActiveModel = before.clone().into();
    row.name = Set(change.name.trim().to_owned());
    row.description = Set(change.description.clone());
    row.rule = Set(change.rule.clone());
    row.updated_at = Set(cx.now);
    let view = SegmentView::from(row.update(&txn).await?);
    audit::record(
        &txn,
        actor,
        audit::Entry::new("segment.update", "segment", slug.to_owned())
            .before(&SegmentView::from(before))
            .after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// Removes a segment nothing uses (`segment_in_use` names what does).
pub async fn delete(
    db: &DatabaseConnection,
    users: &dyn SegmentUsers,
    actor: &Actor,
    slug: &str,
) -> Result<(), SegmentError> {
    let txn = crate::db::begin_write(db).await?;
    let before = find(&txn, slug).await?;
    let using = users.using(&txn, slug).await?;
    if !using.is_empty() {
        return Err(SegmentError::InUse(using.join(", ")));
    }
    segments::Entity::delete_by_id(before.id).exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("segment.delete", "segment", slug.to_owned())
            .before(&SegmentView::from(before)),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Who `rule` takes in now, before it is saved.
pub async fn preview_rule(
    db: &DatabaseConnection,
    rule: &str,
    cx: &RuleContext,
) -> Result<Preview, SegmentError> {
    let condition = compile(db, rule, cx).await?;
    preview(db, condition, cx).await
}

/// Who the saved segment takes in now.
pub async fn preview_segment(
    db: &DatabaseConnection,
    slug: &str,
    cx: &RuleContext,
) -> Result<Preview, SegmentError> {
    let segment = find(db, slug).await?;
    preview_rule(db, &segment.rule, cx).await
}

async fn preview(
    db: &DatabaseConnection,
    condition: Condition,
    cx: &RuleContext,
) -> Result<Preview, SegmentError> {
    Ok(Preview {
        count: attributes::count(db, condition.clone()).await?,
        sample: attributes::sample(db, condition, cx.tiers, SAMPLE_SIZE).await?,
    })
}

/// How many customers the saved segment takes in now.
pub async fn count_members(
    conn: &impl ConnectionTrait,
    slug: &str,
    cx: &RuleContext,
) -> Result<u64, SegmentError> {
    let segment = find(conn, slug).await?;
    let condition = compile(conn, &segment.rule, cx).await?;
    Ok(attributes::count(conn, condition).await?)
}

/// Up to `limit` members of the saved segment with ids above `after`, in id order: a push reads a segment a
/// page at a time.
pub async fn member_ids(
    conn: &impl ConnectionTrait,
    slug: &str,
    cx: &RuleContext,
    after: i64,
    limit: u64,
) -> Result<Vec<i64>, SegmentError> {
    let segment = find(conn, slug).await?;
    let condition = compile(conn, &segment.rule, cx).await?;
    Ok(attributes::member_ids(conn, condition, after, limit).await?)
}
