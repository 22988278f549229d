//! Subscribe consents and the customer's message settings: what `wx.requestSubscribeMessage` answered, as the
//! mini-program reports it, and the customer's "no campaign messages" switch.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

use super::limits;
use super::model::PushError;
use crate::users;

/// `wx.requestSubscribeMessage` asks for at most three templates at once.
const MAX_TEMPLATES: usize = 3;

/// The answer of `wx.requestSubscribeMessage`, by template: `accept`, `reject`, `ban` or `filter`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentReport {
    pub results: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateConsent {
    pub template_id: String,
    /// Messages of this template we may still send.
    pub remaining: i32,
}

/// What the messages page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageSettings {
    /// The customer asked for no campaign messages.
    pub opted_out: bool,
    pub consents: Vec<TemplateConsent>,
}

fn invalid(message: impl Into<String>) -> PushError {
    PushError::InvalidConsent(message.into())
}

/// Records what the customer allowed: each `accept` is one more message of its template (up to a ceiling),
/// a `ban` takes them all back; `reject` and `filter` change nothing.
pub async fn report(
    db: &DatabaseConnection,
    user_id: i64,
    report: &ConsentReport,
    now: DateTime<Utc>,
) -> Result<MessageSettings, PushError> {
    if report.results.is_empty() || report.results.len() > MAX_TEMPLATES {
        return Err(invalid(format!("1 to {MAX_TEMPLATES} templates")));
    }
    for (template_id, answer) in &report.results {
        if !super::content::is_token(template_id, 64) {
            return Err(invalid("a template id is 1-64 of A-Z, a-z, 0-9, '_', '-'"));
        }
        if !["accept", "reject", "ban", "filter"].contains(&answer.as_str()) {
            return Err(invalid(format!(
                "`{answer}` is not accept, reject, ban or filter"
            )));
        }
    }
    let txn = crate::db::begin_write(db).await?;
    for (template_id, answer) in &report.results {
        match answer.as_str() {
            "accept" => limits::add_consent(&txn, user_id, template_id, now).await?,
            "ban" => limits::set_consents(&txn, user_id, template_id, 0, now).await?,
            _ => {}
        }
    }
    txn.commit().await?;
    settings(db, user_id).await
}

pub async fn settings(db: &DatabaseConnection, user_id: i64) -> Result<MessageSettings, PushError> {
    let targets = users::service::push_targets(db, &[user_id]).await?;
    let consents = limits::consents(db, user_id).await?;
    Ok(MessageSettings {
        opted_out: targets.first().is_some_and(|target| target.opted_out),
        consents: consents
            .into_iter()
            .map(|consent| TemplateConsent {
                template_id: consent.template_id,
                remaining: consent.remaining,
            })
            .collect(),
    })
}

pub async fn set_opt_out(
    db: &DatabaseConnection,
    user_id: i64,
    opted_out: bool,
    now: DateTime<Utc>,
) -> Result<MessageSettings, PushError> {
    users::service::set_push_opt_out(db, user_id, opted_out, now).await?;
    settings(db, user_id).await
}
