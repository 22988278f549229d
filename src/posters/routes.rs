use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::service::{self, PosterMaker};
use crate::auth::Customer;
use crate::error::{AppError, ErrorBody};
use crate::http::ValidJson;
use crate::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/campaigns/{slug}/posters/{activity}",
        web::post().to(make_poster),
    )
    .route("/posters/{code}", web::get().to(show_poster))
    .route("/posters/{code}/image", web::get().to(show_poster_image));
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PosterInput {
    /// What the card says (a wish, a plan's summary): 1-60 characters on one line.
    text: String,
}

/// Makes the caller's poster of a poster activity: the text passes WeChat's content check, then the card is
/// drawn (once per content). Takes an `Idempotency-Key`: a retry answers the same poster.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/posters/{activity}",
    tag = "posters",
    params(("slug" = String, Path, description = "the campaign"), ("activity" = String, Path, description = "the poster activity")),
    request_body = PosterInput,
    responses(
        (status = 200, description = "the poster: its image, its share page, what making it paid", body = crate::posters::service::PosterView),
        (status = 400, description = "invalid_input, idempotency_key_missing, idempotency_key_invalid", body = ErrorBody),
        (status = 404, description = "campaign_not_found, activity_not_found", body = ErrorBody),
        (status = 409, description = "campaign_not_live, activity_not_live, campaign_paused, content_unchecked, idempotency_in_progress", body = ErrorBody),
        (status = 422, description = "content_rejected, idempotency_key_reused", body = ErrorBody),
        (status = 502, description = "wechat_unavailable, wechat_error, wechat_bad_response", body = ErrorBody),
        (status = 504, description = "wechat_timeout", body = ErrorBody),
    ),
    security(("customer" = []))
)]
async fn make_poster(
    req: HttpRequest,
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<(String, String)>,
    body: ValidJson<PosterInput>,
) -> Result<HttpResponse, AppError> {
    let (campaign, activity) = path.into_inner();
    let key = IdempotencyKey::from_request(&req)?;
    let fingerprint = idempotency::fingerprint(&[
        campaign.as_bytes(),
        activity.as_bytes(),
        body.text.as_bytes(),
    ]);
    let scope = format!("poster:{}", customer.user_id);
    let maker = PosterMaker {
        wechat: &state.wechat,
        base_url: &state.settings.application.base_url,
    };
    let outcome = idempotency::run_once(state.store(), &scope, &key, &fingerprint, || async {
        let poster = service::make_poster(
            state.context(),
            &maker,
            customer.user_id,
            &campaign,
            &activity,
            &body.text,
            key.as_str(),
        )
        .await?;
        StoredResponse::ok(poster)
    })
    .await?;
    Ok(outcome.into_http())
}

/// A poster, for its share page (anyone).
#[utoipa::path(
    get,
    path = "/api/v1/posters/{code}",
    tag = "posters",
    params(("code" = String, Path, description = "the poster's share code")),
    responses(
        (status = 200, description = "the poster", body = crate::posters::service::PosterView),
        (status = 404, description = "poster_not_found", body = ErrorBody),
    )
)]
async fn show_poster(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(service::poster(&state.db, &code).await?))
}

/// A poster's PNG (anyone; it never changes, so it is cached by its content hash).
#[utoipa::path(
    get,
    path = "/api/v1/posters/{code}/image",
    tag = "posters",
    params(("code" = String, Path, description = "the poster's share code")),
    responses(
        (status = 200, description = "the PNG", content_type = "image/png"),
        (status = 404, description = "poster_not_found", body = ErrorBody),
    )
)]
async fn show_poster_image(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (hash, png) = service::poster_image(&state.db, &code).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::ETAG, format!("\"{hash}\"")))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400, immutable"))
        .body(png))
}
