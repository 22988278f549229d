//! Calculators (kind `calculator`): an H5 tool inside a campaign, with its maths here in the backend. One today,
//! the education-fund plan; a calculator activity names which one it is.

pub mod education_fund;
pub mod routes;

use serde::Deserialize;

use crate::calendar::ActivityKind;
use crate::campaigns::gate::{self, GateError, Scope};
use crate::error::{AppError, ErrorCode};
use crate::state::Context;

/// The calculators there are, by the name an activity's config gives.
pub const EDUCATION_FUND: &str = "education_fund";

/// A calculator activity's config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalculatorConfig {
    pub calculator: String,
}

impl CalculatorConfig {
    pub fn check(&self) -> Result<(), String> {
        match self.calculator.as_str() {
            EDUCATION_FUND => Ok(()),
            _ => Err(format!("calculator must be one of: {EDUCATION_FUND}")),
        }
    }
}

/// The education-fund plan of a campaign's calculator activity, while the activity is open.
pub async fn education_plan(
    cx: Context<'_>,
    campaign: &str,
    activity: &str,
    input: &education_fund::PlanInput,
) -> Result<education_fund::Plan, AppError> {
    let admitted = gate::admit(
        cx.db,
        cx.store,
        campaign,
        Scope::Activity(activity, ActivityKind::Calculator),
        cx.now,
    )
    .await?;
    let config = admitted
        .activity
        .map(|a| crate::calendar::read_config::<CalculatorConfig>(&a.config))
        .transpose()
        .map_err(|e| AppError::unexpected(anyhow::anyhow!("calculator config: {e}")))?;
    if config.is_none_or(|c| c.calculator != EDUCATION_FUND) {
        return Err(GateError::ActivityNotFound.into());
    }
    education_fund::plan(input).map_err(|invalid| {
        AppError::new(ErrorCode::InvalidInput, invalid.message).with_field(invalid.field)
    })
}
