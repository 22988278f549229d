use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::consent::{self, ConsentReport, MessageSettings};
use super::model::{PushInput, PushView};
use super::{fanout, saved};
use crate::auth::{Customer, Role, Staff};
use crate::error::{AppError, ErrorBody};
use crate::http::ValidJson;
use crate::state::AppState;

/// Community managers write pushes; operators read them (what reaches customers during a campaign).
const READERS: [Role; 2] = [Role::CommunityManager, Role::Operator];

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/messages", web::get().to(show_message_settings))
        .route("/me/messages", web::put().to(update_message_settings))
        .route("/me/subscriptions", web::post().to(report_consents));
}

/// Mounted at `/admin/v1`.
pub fn configure_staff(cfg: &mut web::ServiceConfig) {
    cfg.route("/pushes", web::get().to(list_pushes))
        .route("/pushes", web::post().to(create_push))
        .route("/pushes/{slug}", web::get().to(show_push))
        .route("/pushes/{slug}", web::put().to(update_push))
        .route("/pushes/{slug}/schedule", web::post().to(schedule_push))
        .route("/pushes/{slug}/send", web::post().to(send_push))
        .route("/pushes/{slug}/cancel", web::post().to(cancel_push));
}

/// Every push with its counts, newest first.
#[utoipa::path(
    get,
    path = "/admin/v1/pushes",
    tag = "pushes",
    responses((status = 200, description = "the pushes", body = [PushView])),
    security(("staff" = []))
)]
async fn list_pushes(state: web::Data<AppState>, staff: Staff) -> Result<HttpResponse, AppError> {
    staff.require_any(&READERS)?;
    Ok(HttpResponse::Ok().json(saved::list(&state.db).await?))
}

/// Saves a draft push (community managers; audited). WeChat's content rules are checked here: a template
/// message with `first` or `remark`, a field past its length, a marketing template, an unknown variable or
/// segment saves nothing.
#[utoipa::path(
    post,
    path = "/admin/v1/pushes",
    tag = "pushes",
    request_body = PushInput,
    responses(
        (status = 201, description = "the draft", body = PushView),
        (status = 400, description = "invalid_push", body = ErrorBody),
        (status = 404, description = "segment_not_found", body = ErrorBody),
        (status = 409, description = "slug_taken", body = ErrorBody),
        (status = 422, description = "template_marketing", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn create_push(
    state: web::Data<AppState>,
    staff: Staff,
    body: ValidJson<PushInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let view = saved::create(&state.db, &staff.actor(), &body, state.now()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// One push with its counts: queued, held (by what), sent (by variant), failed by errcode, skipped by
/// reason, and WeChat's job reports.
#[utoipa::path(
    get,
    path = "/admin/v1/pushes/{slug}",
    tag = "pushes",
    params(("slug" = String, Path, description = "the push")),
    responses(
        (status = 200, description = "the push", body = PushView),
        (status = 404, description = "push_not_found", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn show_push(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&READERS)?;
    let push = saved::find(&state.db, &slug).await?;
    Ok(HttpResponse::Ok().json(saved::view(&state.db, push).await?))
}

/// Replaces a draft or scheduled push (which goes back to draft); audited.
#[utoipa::path(
    put,
    path = "/admin/v1/pushes/{slug}",
    tag = "pushes",
    params(("slug" = String, Path, description = "the push")),
    request_body = PushInput,
    responses(
        (status = 200, description = "the draft", body = PushView),
        (status = 400, description = "invalid_push", body = ErrorBody),
        (status = 404, description = "push_not_found, segment_not_found", body = ErrorBody),
        (status = 409, description = "push_not_editable", body = ErrorBody),
        (status = 422, description = "template_marketing", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn update_push(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<PushInput>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let view = saved::update(&state.db, &staff.actor(), &slug, &body, state.now()).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ScheduleRequest {
    at: DateTime<Utc>,
}

/// Schedules a draft; it sends at `at` on whichever instance's scheduler comes first.
#[utoipa::path(
    post,
    path = "/admin/v1/pushes/{slug}/schedule",
    tag = "pushes",
    params(("slug" = String, Path, description = "the push")),
    request_body = ScheduleRequest,
    responses(
        (status = 200, description = "scheduled", body = PushView),
        (status = 400, description = "invalid_push", body = ErrorBody),
        (status = 404, description = "push_not_found", body = ErrorBody),
        (status = 409, description = "push_not_editable", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn schedule_push(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<ScheduleRequest>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let view = saved::schedule(&state.db, &staff.actor(), &slug, body.at, state.now()).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SendRequest {
    /// Send during the quiet hours anyway: each customer then gets the push's quiet-hours rule (held until
    /// 08:00, or dropped).
    #[serde(default)]
    override_quiet_hours: bool,
}

/// Sends a draft or scheduled push now: one delivery per customer of its segment, queued for the workers.
#[utoipa::path(
    post,
    path = "/admin/v1/pushes/{slug}/send",
    tag = "pushes",
    params(("slug" = String, Path, description = "the push")),
    request_body = SendRequest,
    responses(
        (status = 200, description = "sending: the counts so far", body = PushView),
        (status = 404, description = "push_not_found, segment_not_found", body = ErrorBody),
        (status = 409, description = "push_not_editable, segment_empty, quiet_hours", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn send_push(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: ValidJson<SendRequest>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let view = fanout::send(
        &state.db,
        state.store(),
        &state.settings,
        &staff.actor(),
        &slug,
        body.override_quiet_hours,
        state.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Cancels a push: nothing more of it is sent (what is queued or held is skipped as `cancelled`); audited.
#[utoipa::path(
    post,
    path = "/admin/v1/pushes/{slug}/cancel",
    tag = "pushes",
    params(("slug" = String, Path, description = "the push")),
    responses(
        (status = 200, description = "cancelled", body = PushView),
        (status = 404, description = "push_not_found", body = ErrorBody),
        (status = 409, description = "push_not_editable", body = ErrorBody),
    ),
    security(("staff" = []))
)]
async fn cancel_push(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Role::CommunityManager)?;
    let view = saved::cancel(&state.db, &staff.actor(), &slug, state.now()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The caller's message settings: campaign messages on or off, and the subscribe consents left.
#[utoipa::path(
    get,
    path = "/api/v1/me/messages",
    tag = "pushes",
    responses((status = 200, description = "the settings", body = MessageSettings)),
    security(("customer" = []))
)]
async fn show_message_settings(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(consent::settings(&state.db, customer.user_id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MessageSettingsChange {
    /// No campaign messages at all (every push skips the caller as `opted_out`).
    opted_out: bool,
}

/// Turns campaign messages off or on for the caller.
#[utoipa::path(
    put,
    path = "/api/v1/me/messages",
    tag = "pushes",
    request_body = MessageSettingsChange,
    responses((status = 200, description = "the settings", body = MessageSettings)),
    security(("customer" = []))
)]
async fn update_message_settings(
    state: web::Data<AppState>,
    customer: Customer,
    body: ValidJson<MessageSettingsChange>,
) -> Result<HttpResponse, AppError> {
    let settings =
        consent::set_opt_out(&state.db, customer.user_id, body.opted_out, state.now()).await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// What `wx.requestSubscribeMessage` answered: each `accept` allows one more message of its template.
#[utoipa::path(
    post,
    path = "/api/v1/me/subscriptions",
    tag = "pushes",
    request_body = ConsentReport,
    responses(
        (status = 200, description = "the settings", body = MessageSettings),
        (status = 400, description = "invalid_consent", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn report_consents(
    state: web::Data<AppState>,
    customer: Customer,
    body: ValidJson<ConsentReport>,
) -> Result<HttpResponse, AppError> {
    let settings = consent::report(&state.db, customer.user_id, &body, state.now()).await?;
    Ok(HttpResponse::Ok().json(settings))
}
