use actix_web::{web, HttpResponse};

use super::education_fund::PlanInput;
use crate::error::{AppError, ErrorBody};
use crate::http::ValidJson;
use crate::state::AppState;

/// Mounted at `/api/v1`.
pub fn configure_customer(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/campaigns/{slug}/calculators/{activity}/education-fund",
        web::post().to(plan_education_fund),
    );
}

/// The education-fund plan: the cost when the child's education starts, today's savings by then, and the
/// monthly saving that closes the gap. Anyone may ask (no login), while the calculator activity is open.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{slug}/calculators/{activity}/education-fund",
    tag = "calculators",
    params(("slug" = String, Path, description = "the campaign"), ("activity" = String, Path, description = "the calculator activity")),
    request_body = PlanInput,
    responses(
        (status = 200, description = "the plan, in fen", body = crate::calculator::education_fund::Plan),
        (status = 400, description = "invalid_input", body = ErrorBody),
        (status = 404, description = "campaign_not_found, activity_not_found", body = ErrorBody),
        (status = 409, description = "campaign_not_live, activity_not_live, campaign_paused", body = ErrorBody),
    )
)]
async fn plan_education_fund(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: ValidJson<PlanInput>,
) -> Result<HttpResponse, AppError> {
    let (campaign, activity) = path.into_inner();
    let plan = super::education_plan(state.context(), &campaign, &activity, &body).await?;
    Ok(HttpResponse::Ok().json(plan))
}
