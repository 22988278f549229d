//! The OpenAPI 3.1 contract, generated from the handlers' annotations: every route with its request and
//! response schemas and the error codes it answers. The top of the house: it names every folder's routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wxcampaign",
        description = "The bank's WeChat campaign backend: calendar, quizzes, lotteries, points, coupons."
    ),
    paths(
        crate::http::health::healthz,
        crate::http::health::readyz,
        crate::http::metrics::render,
        crate::audit::routes::list_audit_entries,
        crate::campaigns::routes::get_calendar,
        crate::campaigns::routes::get_campaign,
        crate::campaigns::routes::list_campaigns,
        crate::campaigns::routes::show_campaign,
        crate::campaigns::routes::pause_campaign,
        crate::campaigns::routes::resume_campaign,
        crate::planning::routes::create_campaign,
        crate::planning::routes::replace_campaign,
        crate::planning::routes::schedule_campaign,
        crate::coupons::routes::list_my_coupons,
        crate::coupons::routes::create_template,
        crate::coupons::routes::use_coupon,
        crate::lottery::routes::draw_prize,
        crate::lottery::routes::get_odds,
        crate::lottery::routes::buy_chances,
        crate::lottery::routes::create_pool,
        crate::lottery::routes::list_draws,
        crate::official_account::routes::verify_callback_url,
        crate::official_account::routes::receive_callback,
        crate::official_account::routes::start_h5_login,
        crate::official_account::routes::finish_h5_login,
        crate::official_account::routes::get_jssdk_config,
        crate::official_account::routes::list_reply_rules,
        crate::official_account::routes::create_reply_rule,
        crate::official_account::routes::replace_reply_rule,
        crate::official_account::routes::delete_reply_rule,
        crate::points::routes::get_points,
        crate::points::routes::redeem_points,
        crate::points::routes::get_catalogue,
        crate::points::routes::adjust_points,
        crate::points::routes::create_catalogue_item,
        crate::quiz::routes::start_attempt,
        crate::quiz::routes::show_attempt,
        crate::quiz::routes::answer,
        crate::quiz::routes::progress,
        crate::quiz::routes::leaderboard,
        crate::quiz::routes::rebuild_leaderboard,
        crate::quiz::routes::create_bank,
        crate::quiz::routes::show_bank,
        crate::quiz::routes::import_questions,
        crate::staff::routes::staff_login,
        crate::staff::routes::list_staff,
        crate::staff::routes::create_staff,
        crate::users::routes::dev_login,
        crate::users::routes::wx_login,
        crate::users::routes::get_profile,
        crate::users::routes::bind_phone,
        crate::users::routes::set_user_disabled,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&Shared)
)]
pub struct ApiDoc;

/// What every route may answer besides its own codes, and the two token kinds.
struct Shared;

/// Adds `status` with these codes, or the codes to the route's own answer of that status.
fn add_error(operation: &mut utoipa::openapi::path::Operation, status: u16, codes: &[&str]) {
    let key = status.to_string();
    if let Some(existing) = operation.responses.responses.get_mut(&key) {
        if let utoipa::openapi::RefOr::T(response) = existing {
            response.description = format!("{}, {}", response.description, codes.join(", "));
        }
        return;
    }
    let response = ResponseBuilder::new()
        .description(codes.join(", "))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    operation.responses.responses.insert(key, response.into());
}

impl Modify for Shared {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for kind in ["customer", "staff"] {
            components.add_security_scheme(
                kind,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .description(Some(format!("a {kind} token")))
                        .build(),
                ),
            );
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let limited = ["/api/", "/admin/", "/h5/"]
                .iter()
                .any(|p| path.starts_with(p));
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let staff = path.starts_with("/admin/") && secured;
                add_error(operation, 400, &["invalid_path", "invalid_query"]);
                if operation.request_body.is_some() {
                    add_error(
                        operation,
                        400,
                        &["invalid_body", "malformed_json", "invalid_field"],
                    );
                    add_error(operation, 413, &["payload_too_large"]);
                    add_error(operation, 415, &["unsupported_media_type"]);
                }
                if secured {
                    add_error(
                        operation,
                        401,
                        &["missing_token", "invalid_token", "account_disabled"],
                    );
                }
                if staff {
                    add_error(operation, 403, &["forbidden"]);
                }
                if limited {
                    add_error(operation, 429, &["rate_limited"]);
                }
                add_error(operation, 500, &["internal_error"]);
                add_error(operation, 503, &["service_unavailable"]);
            }
        }
    }
}
