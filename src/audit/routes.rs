use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AuditQuery;
use crate::auth::{Role, Staff};
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list_audit_entries));
}

#[utoipa::path(
    get,
    path = "/admin/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "`{\"entries\": [...]}`, newest first", body = Object),
    ),
    security(("staff" = []))
)]
async fn list_audit_entries(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_any(&[Role::Auditor, Role::Admin])?;
    let entries = super::list(&state.db, &query).await?;
    Ok(HttpResponse::Ok().json(json!({ "entries": entries })))
}
