use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use super::service::{self, Decision, QueueQuery, MAX_UPLOAD_BYTES};
use crate::auth::{Customer, Role, Staff};
use crate::error::{AppError, ErrorBody, ErrorCode};
use crate::http::{read_body, ValidJson};
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/campaigns/{slug}/tasks", web::get().to(show_tasks))
        .route("/campaigns/{slug}/check-ins", web::post().to(check_in))
        .route(
            "/campaigns/{slug}/contents/{content}/open",
            web::post().to(open_content),
        )
        .route(
            "/campaigns/{slug}/contents/{content}/read",
            web::post().to(read_content),
        )
        .route(
            "/campaigns/{slug}/tasks/{activity}/{task}/form",
            web::post().to(submit_form),
        )
        .route(
            "/campaigns/{slug}/tasks/{activity}/{task}/upload",
            web::post().to(upload_image),
        );
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/task-uploads", web::get().to(upload_queue))
        .route(
            "/task-uploads/{id}/image",
            web::get().to(upload_image_bytes),
        )
        .route("/task-uploads/{id}/decision", web::post().to(decide_upload));
}

/// The campaign's task and plan activities with the caller's progress on each task, and the check-in streak.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{slug}/tasks",
    tag = "tasks",
    params(("slug" = String, Path, description = "the campaign")),
    responses(
        (status = 200, description = "every task's progress", body = crate::tasks::service::TaskBoard),
        (status = 404, description = "campaign_not_found", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn show_tasks(
    state: web::Data<AppState>,
    customer: Customer,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let board = service::task_board(state.context(), customer.user_id, &slug).await?;
    Ok(HttpResponse::Ok().json(board))
}

/// Checks the caller in for today (Asia/Shanghai), once a day, while a check-in task is open.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/check-ins",
    tag = "tasks",
    params(("slug" = String, Path, description = "the campaign")),
    responses(
        (status = 200, description = "today's check-in, the streak and what it paid", body = crate::tasks::service::CheckIn),
        (status = 403, description = "not_new_customer", body = ErrorBody),
        (status = 404, description = "campaign_not_found, activity_not_found", body = ErrorBody),
        (status = 409, description = "campaign_not_live, activity_not_live, campaign_paused, plan_day_locked, already_checked_in", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn check_in(
    state: web::Data<AppState>,
    customer: Customer,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let done = service::check_in(state.context(), customer.user_id, &slug).await?;
    Ok(HttpResponse::Ok().json(done))
}

/// The caller opens a content task's content: its read is timed from the first open.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/contents/{content}/open",
    tag = "tasks",
    params(("slug" = String, Path, description = "the campaign"), ("content" = String, Path, description = "the content's id")),
    responses(
        (status = 200, description = "when it was first opened and the read's minimum", body = crate::tasks::service::ContentOpened),
        (status = 403, description = "not_new_customer", body = ErrorBody),
        (status = 404, description = "campaign_not_found, content_not_found", body = ErrorBody),
        (status = 409, description = "campaign_not_live, activity_not_live, campaign_paused, plan_day_locked", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn open_content(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (slug, content) = path.into_inner();
    let opened = service::open_content(state.context(), customer.user_id, &slug, &content).await?;
    Ok(HttpResponse::Ok().json(opened))
}

/// The caller reports the content read: counted when at least its minimum time has passed since the first
/// open, by the server's clock.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/contents/{content}/read",
    tag = "tasks",
    params(("slug" = String, Path, description = "the campaign"), ("content" = String, Path, description = "the content's id")),
    responses(
        (status = 200, description = "the read and what it paid", body = crate::tasks::service::ContentRead),
        (status = 403, description = "not_new_customer", body = ErrorBody),
        (status = 404, description = "campaign_not_found, content_not_found", body = ErrorBody),
        (status = 409, description = "campaign_not_live, activity_not_live, campaign_paused, plan_day_locked, content_not_opened, read_too_short", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn read_content(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (slug, content) = path.into_inner();
    let read = service::read_content(state.context(), customer.user_id, &slug, &content).await?;
    Ok(HttpResponse::Ok().json(read))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormInput {
    /// Each field's answer by its name.
    #[schema(value_type = Object)]
    answers: Value,
}

/// Saves the caller's answers to a form task (again later to change them); the first save completes it.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/tasks/{activity}/{task}/form",
    tag = "tasks",
    params(("slug" = String, Path, description = "the campaign"), ("activity" = String, Path, description = "the task or plan activity"), ("task" = String, Path, description = "the form task's id")),
    request_body = FormInput,
    responses(
        (status = 200, description = "the saved answers and what they paid", body = crate::tasks::service::FormSaved),
        (status = 400, description = "invalid_body", body = ErrorBody),
        (status = 403, description = "not_new_customer", body = ErrorBody),
        (status = 404, description = "campaign_not_found, activity_not_found, task_not_found", body = ErrorBody),
        (status = 409, description = "campaign_not_live, activity_not_live, campaign_paused, plan_day_locked", body = ErrorBody),
        (status = 422, description = "invalid_form", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn submit_form(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String, String)>,
    body: ValidJson<FormInput>,
) -> Result<HttpResponse, AppError> {
    let (slug, activity, task) = path.into_inner();
    let saved = service::submit_form(
        state.context(),
        customer.user_id,
        &slug,
        &activity,
        &task,
        &body.answers,
    )
    .await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Uploads the caller's image for an upload task (`image/png` or `image/jpeg`, at most 1 MiB): it passes
/// WeChat's image check, then waits for staff's review.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/tasks/{activity}/{task}/upload",
    tag = "tasks",
    params(("slug" = String, Path, description = "the campaign"), ("activity" = String, Path, description = "the task or plan activity"), ("task" = String, Path, description = "the upload task's id")),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses(
        (status = 201, description = "the upload, pending review", body = crate::tasks::service::UploadView),
        (status = 403, description = "not_new_customer", body = ErrorBody),
        (status = 404, description = "campaign_not_found, activity_not_found, task_not_found", body = ErrorBody),
        (status = 409, description = "campaign_not_live, activity_not_live, campaign_paused, plan_day_locked, upload_exists", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 422, description = "content_rejected", body = ErrorBody),
        (status = 502, description = "wechat_unavailable, wechat_error, wechat_bad_response", body = ErrorBody),
        (status = 504, description = "wechat_timeout", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn upload_image(
    req: HttpRequest,
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, activity, task) = path.into_inner();
    let mime = req.mime_type().ok().flatten();
    if !mime.is_some_and(|m| matches!(m.essence_str(), "image/png" | "image/jpeg")) {
        return Err(AppError::new(
            ErrorCode::UnsupportedMediaType,
            "send the image as image/png or image/jpeg",
        ));
    }
    let body = read_body(&req, payload.into_inner(), MAX_UPLOAD_BYTES).await?;
    let upload = service::upload_image(
        state.context(),
        &state.wechat,
        customer.user_id,
        &slug,
        &activity,
        &task,
        &body,
    )
    .await?;
    Ok(HttpResponse::Created().json(upload))
}

/// Staff's review queue of upload tasks, oldest first (operators decide; auditors may look).
#[utoipa::path(
    get,
    path = "/admin/v1/task-uploads",
    tag = "tasks",
    params(QueueQuery),
    responses(
        (status = 200, description = "uploads of that status", body = Vec<crate::tasks::service::UploadView>),
        (status = 400, description = "invalid_query", body = ErrorBody),
        (status = 403, description = "forbidden", body = ErrorBody),
        (status = 422, description = "invalid_form", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn upload_queue(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Operator, Role::Auditor])?;
    Ok(HttpResponse::Ok().json(service::queue(&state.db, &query).await?))
}

/// An upload's image, for its reviewer.
#[utoipa::path(
    get,
    path = "/admin/v1/task-uploads/{id}/image",
    tag = "tasks",
    params(("id" = i64, Path, description = "the upload")),
    responses(
        (status = 200, description = "the image as uploaded", content_type = "image/png"),
        (status = 403, description = "forbidden", body = ErrorBody),
        (status = 404, description = "upload_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn upload_image_bytes(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Operator, Role::Auditor])?;
    let (content_type, image) = service::image_of(&state.db, *id).await?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(crate::http::no_store())
        .body(image))
}

/// Approves or rejects an upload, once: the decision is final and audited.
#[utoipa::path(
    post,
    path = "/admin/v1/task-uploads/{id}/decision",
    tag = "tasks",
    params(("id" = i64, Path, description = "the upload")),
    request_body = crate::tasks::service::Decision,
    responses(
        (status = 200, description = "the decided upload", body = crate::tasks::service::UploadView),
        (status = 400, description = "invalid_input", body = ErrorBody),
        (status = 403, description = "forbidden", body = ErrorBody),
        (status = 404, description = "upload_not_found", body = ErrorBody),
        (status = 409, description = "upload_decided", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn decide_upload(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<i64>,
    body: ValidJson<Decision>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::Operator)?;
    let decided = service::decide(state.context(), &staff.actor(), *id, &body).await?;
    Ok(HttpResponse::Ok().json(decided))
}
