//! Upload tasks (毕业不慌's offer screenshot): the customer uploads a PNG or JPEG, it passes WeChat's image
//! check, and it waits in staff's review queue. A decision is final and audited; an approval completes the
//! task (counted from when the customer uploaded), a rejection says why and lets the customer try again.

use std::io::Cursor;

use image::{ImageFormat, ImageReader};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::lookup::{may_act, task_in};
use super::model::{TaskError, TaskKind};
use super::settle::settle_after_action;
use crate::audit::{self, Actor};
use crate::calendar::shanghai;
use crate::campaigns::gate::{self, Scope};
use crate::entities::{activities, task_uploads};
use crate::outbox::{self, Event, EventKind};
use crate::state::Context;
use crate::wechat::client::WeChatClient;

/// WeChat's image check takes at most 1 MB; larger uploads are refused before anything is stored.
pub const MAX_UPLOAD_BYTES: usize = 1024 * 1024;
/// WeChat's image check takes at most 750x1334; a larger image is checked as a copy scaled to fit.
const CHECK_WIDTH: u32 = 750;
const CHECK_HEIGHT: u32 = 1334;
/// A screenshot is a few thousand pixels a side; decoding a bigger image only costs memory.
const MAX_SIDE: u32 = 4096;
const MAX_DECODE_BYTES: u64 = 64 * 1024 * 1024;

fn reader(bytes: &[u8], format: ImageFormat) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader
}

/// An upload as staff's queue and the customer see it (never the customer's openid).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadView {
    pub id: i64,
    pub user_id: i64,
    pub activity: String,
    pub task: String,
    pub content_type: String,
    pub bytes: usize,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub submitted_at: String,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
}

fn view_of(row: &task_uploads::Model, activity: &str) -> UploadView {
    UploadView {
        id: row.id,
        user_id: row.user_id,
        activity: activity.to_owned(),
        task: row.task_id.clone(),
        content_type: row.content_type.clone(),
        bytes: row.image.len(),
        status: row.status.clone(),
        submitted_at: shanghai(row.submitted_at),
        decided_at: row.decided_at.map(shanghai),
        reason: row.reason.clone(),
    }
}

/// The image's format, if it is a PNG or JPEG of sensible size that decodes.
fn image_format(bytes: &[u8]) -> Result<ImageFormat, TaskError> {
    let format = image::guess_format(bytes).map_err(|_| TaskError::NotAnImage)?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
        return Err(TaskError::NotAnImage);
    }
    let (width, height) = reader(bytes, format)
        .into_dimensions()
        .map_err(|_| TaskError::NotAnImage)?;
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(TaskError::NotAnImage);
    }
    Ok(format)
}

/// The bytes WeChat checks: the upload itself, or a JPEG copy scaled to fit WeChat's size (well under its 1 MB).
fn checkable(bytes: &[u8], format: ImageFormat) -> Result<(Vec<u8>, &'static str), TaskError> {
    let image = reader(bytes, format)
        .decode()
        .map_err(|_| TaskError::NotAnImage)?;
    if image.width() <= CHECK_WIDTH && image.height() <= CHECK_HEIGHT {
        return Ok((bytes.to_vec(), format.to_mime_type()));
    }
    let mut scaled = Vec::new();
    // On white, as people see it: dropping the alpha channel instead could hide what is drawn in it.
    let rgba = image.thumbnail(CHECK_WIDTH, CHECK_HEIGHT).to_rgba8();
    let on_white = image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend =
            |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        image::Rgb([blend(r), blend(g), blend(b)])
    });
    image::DynamicImage::ImageRgb8(on_white)
        .write_to(&mut Cursor::new(&mut scaled), ImageFormat::Jpeg)
        .map_err(|e| TaskError::Unexpected(e.into()))?;
    Ok((scaled, "image/jpeg"))
}

pub async fn upload_image(
    cx: Context<'_>,
    wechat: &WeChatClient,
    user_id: i64,
    campaign_slug: &str,
    activity_slug: &str,
    task_id: &str,
    bytes: &[u8],
) -> Result<UploadView, TaskError> {
    let admitted = gate::admit(
        cx.db,
        cx.store,
        campaign_slug,
        Scope::Tasks(activity_slug),
        cx.now,
    )
    .await?;
    let activity = admitted.activity.ok_or(TaskError::TaskNotFound)?;
    let located = task_in(&activity, task_id)?;
    if located.task.kind != TaskKind::UploadReviewed {
        return Err(TaskError::TaskNotFound);
    }
    let first_seen = crate::users::service::first_seen(cx.db, user_id)
        .await?
        .unwrap_or(cx.now);
    may_act(&located, first_seen, cx.now)?;
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(TaskError::UploadTooLarge(MAX_UPLOAD_BYTES));
    }
    let format = image_format(bytes)?;
    // The unique key refuses a second one anyway; asking first spares WeChat's check quota.
    let open = open_key(user_id, activity.id, task_id);
    if task_uploads::Entity::find()
        .filter(task_uploads::Column::OpenKey.eq(open.as_str()))
        .one(cx.db)
        .await?
        .is_some()
    {
        return Err(TaskError::UploadExists);
    }
    let owned = bytes.to_vec();
    // Decoding and scaling take CPU: off the request threads.
    let (checked, mime) = tokio::task::spawn_blocking(move || checkable(&owned, format))
        .await
        .map_err(|e| TaskError::Unexpected(e.into()))??;
    if !wechat.img_sec_check(&checked, mime).await? {
        return Err(TaskError::ContentRejected);
    }
    let row = task_uploads::ActiveModel {
        user_id: Set(user_id),
        campaign_id: Set(admitted.campaign.id),
        activity_id: Set(activity.id),
        task_id: Set(task_id.to_owned()),
        content_type: Set(format.to_mime_type().to_owned()),
        image: Set(bytes.to_vec()),
        sha256: Set(hex::encode(Sha256::digest(bytes))),
        status: Set("pending".into()),
        open_key: Set(Some(open)),
        submitted_at: Set(cx.now),
        ..Default::default()
    }
    .insert(cx.db)
    .await;
    match row {
        Ok(row) => Ok(view_of(&row, &activity.slug)),
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(TaskError::UploadExists)
        }
        Err(error) => Err(error.into()),
    }
}

fn open_key(user_id: i64, activity_id: i64, task_id: &str) -> String {
    format!("{user_id}:{activity_id}:{task_id}")
}

/// The customer's latest upload for each upload task of `activity_id`, by task id.
pub async fn latest_uploads(
    db: &DatabaseConnection,
    user_id: i64,
    activity: &activities::Model,
) -> Result<std::collections::HashMap<String, UploadView>, sea_orm::DbErr> {
    let rows = task_uploads::Entity::find()
        .filter(task_uploads::Column::UserId.eq(user_id))
        .filter(task_uploads::Column::ActivityId.eq(activity.id))
        .order_by_asc(task_uploads::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|row| (row.task_id.clone(), view_of(row, &activity.slug)))
        .collect())
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `pending` (the default), `approved` or `rejected`.
    #[serde(default)]
    pub status: Option<String>,
    /// Uploads after this id (the last one of the previous page).
    #[serde(default)]
    pub after: Option<i64>,
    /// At most 100; 50 by default.
    #[serde(default)]
    pub limit: Option<u64>,
}

/// Staff's review queue, oldest first.
pub async fn queue(
    db: &DatabaseConnection,
    query: &QueueQuery,
) -> Result<Vec<UploadView>, TaskError> {
    let status = query.status.as_deref().unwrap_or("pending");
    if !matches!(status, "pending" | "approved" | "rejected") {
        return Err(TaskError::InvalidForm(
            "status is pending, approved or rejected".into(),
        ));
    }
    let rows = task_uploads::Entity::find()
        .filter(task_uploads::Column::Status.eq(status))
        .filter(task_uploads::Column::Id.gt(query.after.unwrap_or(0)))
        .order_by_asc(task_uploads::Column::Id)
        .limit(query.limit.unwrap_or(50).clamp(1, 100))
        .all(db)
        .await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in &rows {
        let slug = gate::find_activity(db, row.activity_id)
            .await?
            .map(|a| a.slug)
            .unwrap_or_default();
        views.push(view_of(row, &slug));
    }
    Ok(views)
}

/// An upload's image, for staff reviewing it: its content type and bytes.
pub async fn image_of(db: &DatabaseConnection, id: i64) -> Result<(String, Vec<u8>), TaskError> {
    let row = task_uploads::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(TaskError::UploadNotFound)?;
    Ok((row.content_type, row.image))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub approve: bool,
    /// Why, shown to the customer: required for a rejection.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Staff decide an upload, once: the first decision wins, any later one is refused. Audited.
pub async fn decide(
    cx: Context<'_>,
    actor: &Actor,
    id: i64,
    decision: &Decision,
) -> Result<UploadView, TaskError> {
    let reason = decision
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 200) || (!decision.approve && reason.is_none()) {
        return Err(TaskError::ReasonRequired);
    }
    let txn = crate::db::begin_write(cx.db).await?;
    let before = task_uploads::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(TaskError::UploadNotFound)?;
    let status = if decision.approve {
        "approved"
    } else {
        "rejected"
    };
    let mut update = task_uploads::Entity::update_many()
        .col_expr(task_uploads::Column::Status, Expr::value(status))
        .col_expr(task_uploads::Column::DecidedBy, Expr::value(actor.staff_id))
        .col_expr(task_uploads::Column::DecidedAt, Expr::value(cx.now))
        .col_expr(
            task_uploads::Column::Reason,
            Expr::value(reason.map(str::to_owned)),
        );
    if !decision.approve {
        // A rejected upload frees its task for another try.
        update = update.col_expr(task_uploads::Column::OpenKey, Expr::value(None::<String>));
    }
    let changed = update
        .filter(task_uploads::Column::Id.eq(id))
        .filter(task_uploads::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        txn.rollback().await?;
        return Err(TaskError::UploadDecided);
    }
    let after = task_uploads::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(TaskError::UploadNotFound)?;
    let slug = gate::find_activity(&txn, after.activity_id)
        .await?
        .map(|a| a.slug)
        .unwrap_or_default();
    if decision.approve {
        outbox::record(
            &txn,
            &Event {
                user_id: after.user_id,
                kind: EventKind::UploadApproved,
                source_ref: &format!("upload:{id}"),
                campaign_id: Some(after.campaign_id),
                activity_id: Some(after.activity_id),
                subject: Some(&after.task_id),
                // The customer did the task when they uploaded; the review only confirms it.
                at: after.submitted_at,
            },
        )
        .await?;
    }
    let mut entry = audit::Entry::new(
        if decision.approve {
            "task_upload.approve"
        } else {
            "task_upload.reject"
        },
        "task_upload",
        id.to_string(),
    )
    .before(&view_of(&before, &slug))
    .after(&view_of(&after, &slug));
    if let Some(reason) = reason {
        entry = entry.reason(reason);
    }
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    if decision.approve {
        settle_after_action(cx, after.user_id).await;
    }
    Ok(view_of(&after, &slug))
}
