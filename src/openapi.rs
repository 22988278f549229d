//! The OpenAPI 3.1 contract, generated from the handlers' annotations: every route with its request and
//! response schemas and the error codes it answers. The top of the house: it names every folder's routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorCode;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wxcampaign",
        description = "The bank's WeChat campaign backend: calendar, quizzes, lotteries, won prizes and their delivery, points, coupons, team-ups, referrals, posters, calculators.",
        license(name = "Proprietary")
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
        crate::fulfilment::routes::list_my_prizes,
        crate::fulfilment::routes::submit_address,
        crate::fulfilment::routes::list_deliveries,
        crate::fulfilment::routes::export_deliveries,
        crate::fulfilment::routes::ship_delivery,
        crate::lottery::routes::draw_prize,
        crate::lottery::routes::get_odds,
        crate::lottery::routes::buy_chances,
        crate::lottery::routes::get_chances,
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
        crate::calculator::routes::plan_education_fund,
        crate::posters::routes::make_poster,
        crate::posters::routes::show_poster,
        crate::posters::routes::show_poster_image,
        crate::http::h5::asset,
        crate::http::h5::calculator_page,
        crate::http::h5::poster_page,
        crate::referrals::routes::show_my_referrals,
        crate::referrals::routes::show_my_invite_qr,
        crate::teams::routes::create_team,
        crate::teams::routes::show_my_team,
        crate::teams::routes::show_team,
        crate::teams::routes::join_team,
        crate::tasks::routes::show_tasks,
        crate::tasks::routes::check_in,
        crate::tasks::routes::open_content,
        crate::tasks::routes::read_content,
        crate::tasks::routes::submit_form,
        crate::tasks::routes::upload_image,
        crate::tasks::routes::upload_queue,
        crate::tasks::routes::upload_image_bytes,
        crate::tasks::routes::decide_upload,
        crate::behaviour::routes::report_events,
        crate::segments::routes::list_segments,
        crate::segments::routes::create_segment,
        crate::segments::routes::preview_rule,
        crate::segments::routes::show_segment,
        crate::segments::routes::update_segment,
        crate::segments::routes::delete_segment,
        crate::segments::routes::preview_segment,
        crate::push::routes::list_pushes,
        crate::push::routes::create_push,
        crate::push::routes::show_push,
        crate::push::routes::update_push,
        crate::push::routes::schedule_push,
        crate::push::routes::send_push,
        crate::push::routes::cancel_push,
        crate::push::routes::show_message_settings,
        crate::push::routes::update_message_settings,
        crate::push::routes::report_consents,
        crate::journeys::routes::list_journeys,
        crate::journeys::routes::create_journey,
        crate::journeys::routes::show_journey,
        crate::journeys::routes::enable_journey,
        crate::journeys::routes::disable_journey,
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

/// Adds these codes to the operation, each under its own HTTP status (merged into an answer of that status
/// the operation already has). The status comes from `ErrorCode`, so the document cannot disagree with it.
fn add_codes(operation: &mut utoipa::openapi::path::Operation, codes: &[ErrorCode]) {
    for code in codes {
        let key = code.status().as_u16().to_string();
        if let Some(RefOr::T(existing)) = operation.responses.responses.get_mut(&key) {
            let listed: Vec<&str> = existing.description.split(", ").collect();
            if !listed.contains(&code.as_str()) {
                existing.description = format!("{}, {}", existing.description, code.as_str());
            }
            continue;
        }
        let response = ResponseBuilder::new()
            .description(code.as_str())
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        operation.responses.responses.insert(key, response.into());
    }
}

/// The codes a handler's annotation lists, taken out of its error answers to be filed again by their real status.
fn take_listed_codes(operation: &mut utoipa::openapi::path::Operation) -> Vec<ErrorCode> {
    let mut codes = Vec::new();
    operation.responses.responses.retain(|status, response| {
        let listed: Option<Vec<ErrorCode>> = match response {
            RefOr::T(response) if status.as_str() >= "400" => response
                .description
                .split(", ")
                .map(ErrorCode::parse)
                .collect(),
            _ => None,
        };
        match listed {
            Some(listed) => {
                codes.extend(listed);
                false
            }
            None => true,
        }
    });
    codes
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
                let mut codes = take_listed_codes(operation);
                codes.extend([ErrorCode::InvalidPath, ErrorCode::InvalidQuery]);
                if operation.request_body.is_some() {
                    codes.extend([
                        ErrorCode::InvalidBody,
                        ErrorCode::MalformedJson,
                        ErrorCode::InvalidField,
                        ErrorCode::PayloadTooLarge,
                        ErrorCode::UnsupportedMediaType,
                    ]);
                }
                if secured {
                    codes.extend([
                        ErrorCode::MissingToken,
                        ErrorCode::InvalidToken,
                        ErrorCode::AccountDisabled,
                    ]);
                }
                if staff {
                    codes.push(ErrorCode::Forbidden);
                }
                if limited {
                    codes.push(ErrorCode::RateLimited);
                }
                codes.extend([ErrorCode::InternalError, ErrorCode::ServiceUnavailable]);
                add_codes(operation, &codes);
            }
        }
    }
}
