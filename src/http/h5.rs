//! The H5 pages opened inside WeChat (and, degraded, in any browser): static pages and scripts compiled into the
//! binary from `h5/`, each page fetching what it shows from the JSON API. Served with a content security policy
//! that lets scripts come only from here and from WeChat's JS-SDK.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::calendar::is_slug;
use crate::error::{AppError, ErrorCode};

/// Mounted at `/h5`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/{name}", web::get().to(asset))
        .route(
            "/calculator/{campaign}/{activity}",
            web::get().to(calculator_page),
        )
        .route("/posters/{code}", web::get().to(poster_page));
}

const ASSETS: [(&str, &str, &str); 4] = [
    (
        "h5.css",
        "text/css; charset=utf-8",
        include_str!("../../h5/h5.css"),
    ),
    (
        "h5.js",
        "text/javascript; charset=utf-8",
        include_str!("../../h5/h5.js"),
    ),
    (
        "calculator.js",
        "text/javascript; charset=utf-8",
        include_str!("../../h5/calculator.js"),
    ),
    (
        "poster.js",
        "text/javascript; charset=utf-8",
        include_str!("../../h5/poster.js"),
    ),
];

const CALCULATOR: &str = include_str!("../../h5/calculator.html");
const POSTER: &str = include_str!("../../h5/poster.html");

/// Scripts from this site and WeChat's JS-SDK only; data and images from this site (and WeChat's QR images).
const POLICY: &str = "default-src 'self'; script-src 'self' https://res.wx.qq.com; \
    img-src 'self' data: https://mp.weixin.qq.com; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

/// A script or style sheet of the H5 pages.
#[utoipa::path(
    get,
    path = "/h5/assets/{name}",
    tag = "h5",
    params(("name" = String, Path, description = "h5.css, h5.js, calculator.js, poster.js")),
    responses(
        (status = 200, description = "the asset (cached for five minutes)", content_type = "text/javascript"),
        (status = 404, description = "not_found", body = crate::error::ErrorBody),
    )
)]
async fn asset(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(asset, _, _)| *asset == name.as_str())
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such asset"))?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(*body))
}

/// An H5 page: the same HTML whatever it shows, with the policy above.
pub fn page(html: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(html)
}

/// The education-fund calculator's page (its plan comes from `POST .../education-fund`).
#[utoipa::path(
    get,
    path = "/h5/calculator/{campaign}/{activity}",
    tag = "h5",
    params(("campaign" = String, Path, description = "the campaign"), ("activity" = String, Path, description = "the calculator activity")),
    responses(
        (status = 200, description = "the page", content_type = "text/html"),
        (status = 404, description = "not_found", body = crate::error::ErrorBody),
    )
)]
async fn calculator_page(path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (campaign, activity) = path.into_inner();
    if !is_slug(&campaign) || !is_slug(&activity) {
        return Err(AppError::new(ErrorCode::NotFound, "no such page"));
    }
    Ok(page(CALCULATOR))
}

/// A poster's share page (the poster itself comes from `GET /api/v1/posters/{code}`).
#[utoipa::path(
    get,
    path = "/h5/posters/{code}",
    tag = "h5",
    params(("code" = String, Path, description = "the poster's share code")),
    responses(
        (status = 200, description = "the page", content_type = "text/html"),
        (status = 404, description = "not_found", body = crate::error::ErrorBody),
    )
)]
async fn poster_page(code: web::Path<String>) -> Result<HttpResponse, AppError> {
    if !crate::calendar::is_share_code(&code) {
        return Err(AppError::new(ErrorCode::NotFound, "no such page"));
    }
    Ok(page(POSTER))
}
