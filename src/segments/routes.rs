use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::model::{Preview, SegmentInput, SegmentView};
use super::saved::{self, SegmentChange};
use super::RuleContext;
use crate::auth::{Role, Staff};
use crate::error::{AppError, ErrorBody};
use crate::http::ValidJson;
use crate::state::AppState;

/// Community managers write segments; operators read them (a campaign's reach).
const READERS: [Role; 2] = [Role::CommunityManager, Role::Operator];

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/segments", web::get().to(list_segments))
        .route("/segments", web::post().to(create_segment))
        .route("/segments/preview", web::post().to(preview_rule))
        .route("/segments/{slug}", web::get().to(show_segment))
        .route("/segments/{slug}", web::put().to(update_segment))
        .route("/segments/{slug}", web::delete().to(delete_segment))
        .route("/segments/{slug}/preview", web::get().to(preview_segment));
}

fn rule_context(state: &AppState) -> RuleContext {
    RuleContext::new(&state.settings, state.now())
}

/// Every saved segment.
#[utoipa::path(
    get,
    path = "/admin/v1/segments",
    tag = "segments",
    responses((status = 200, description = "the segments, by slug", body = [SegmentView])),
    security(("staff" = []))
)]
async fn list_segments(state: web::Data<AppState>, staff: Staff) -> Result<HttpResponse, AppError> {
    staff.require_any(&READERS)?;
    Ok(HttpResponse::Ok().json(saved::list(&state.db).await?))
}

/// Saves a segment (community managers; audited). The rule is checked first: a rule that does not parse, or
/// names an unknown campaign, asset tier or category, saves nothing.
#[utoipa::path(
    post,
    path = "/admin/v1/segments",
    tag = "segments",
    request_body = SegmentInput,
    responses(
        (status = 201, description = "saved", body = SegmentView),
        (status = 400, description = "invalid_segment_rule, invalid_segment", body = ErrorBody),
        (status = 409, description = "slug_taken", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn create_segment(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<SegmentInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let view = saved::create(&state.db, &staff.actor(), &body, &rule_context(&state)).await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RuleRequest {
    rule: String,
}

/// How many customers a rule takes in now, and the first few of them masked, without saving it.
#[utoipa::path(
    post,
    path = "/admin/v1/segments/preview",
    tag = "segments",
    request_body = RuleRequest,
    responses(
        (status = 200, description = "the count and a masked sample", body = Preview),
        (status = 400, description = "invalid_segment_rule", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn preview_rule(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<RuleRequest>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let preview = saved::preview_rule(&state.db, &body.rule, &rule_context(&state)).await?;
    Ok(HttpResponse::Ok().json(preview))
}

/// One saved segment.
#[utoipa::path(
    get,
    path = "/admin/v1/segments/{slug}",
    tag = "segments",
    params(("slug" = String, Path, description = "the segment")),
    responses(
        (status = 200, description = "the segment", body = SegmentView),
        (status = 404, description = "segment_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn show_segment(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&READERS)?;
    let segment = saved::find(&state.db, &slug).await?;
    Ok(HttpResponse::Ok().json(SegmentView::from(segment)))
}

/// Changes a segment's name, description and rule (community managers; audited with before and after).
#[utoipa::path(
    put,
    path = "/admin/v1/segments/{slug}",
    tag = "segments",
    params(("slug" = String, Path, description = "the segment")),
    request_body = SegmentChange,
    responses(
        (status = 200, description = "saved", body = SegmentView),
        (status = 400, description = "invalid_segment_rule, invalid_segment", body = ErrorBody),
        (status = 404, description = "segment_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn update_segment(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<SegmentChange>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let context = rule_context(&state);
    let view = saved::update(&state.db, &staff.actor(), &slug, &body, &context).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Removes a segment (community managers; audited).
#[utoipa::path(
    delete,
    path = "/admin/v1/segments/{slug}",
    tag = "segments",
    params(("slug" = String, Path, description = "the segment")),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "segment_not_found", body = ErrorBody),
        (status = 409, description = "segment_in_use", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn delete_segment(
    state: web::Data<AppState>,
    users: web::Data<dyn saved::SegmentUsers>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    saved::delete(&state.db, users.get_ref(), &staff.actor(), &slug).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How many customers the saved segment takes in now, and the first few masked.
#[utoipa::path(
    get,
    path = "/admin/v1/segments/{slug}/preview",
    tag = "segments",
    params(("slug" = String, Path, description = "the segment")),
    responses(
        (status = 200, description = "the count and a masked sample", body = Preview),
        (status = 404, description = "segment_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn preview_segment(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&READERS)?;
    let preview = saved::preview_segment(&state.db, &slug, &rule_context(&state)).await?;
    Ok(HttpResponse::Ok().json(preview))
}
