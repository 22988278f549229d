//! The education-fund plan (Q3's 教育金计算器): what a child's education will cost when it starts, what today's
//! savings grow to by then, and the monthly saving that closes the gap. Money in and out is in fen; growth is
//! compounded yearly (costs) and monthly (savings) in floating point, then rounded to the fen once.

use serde::{Deserialize, Serialize};

/// Rates a parent may choose, in basis points a year: from nothing to 10%.
const MAX_RATE_BP: u32 = 1_000;
/// Larger than any plan a bank would show: 100 million yuan.
const MAX_FEN: i64 = 10_000_000_000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// The child's age now, in whole years (0-17).
    pub child_age: u32,
    /// When the money is needed (default 18: university).
    #[serde(default = "default_target_age")]
    pub target_age: u32,
    /// What the education would cost today, in fen.
    pub target_fen: i64,
    /// Saved for it already, in fen.
    #[serde(default)]
    pub savings_fen: i64,
    /// How fast education costs rise, in basis points a year (default 300: 3%).
    #[serde(default = "default_rate_bp")]
    pub inflation_bp: u32,
    /// What savings earn, in basis points a year (default 300: 3%).
    #[serde(default = "default_rate_bp")]
    pub return_bp: u32,
}

fn default_target_age() -> u32 {
    18
}

fn default_rate_bp() -> u32 {
    300
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub years: u32,
    /// The education's cost when it starts.
    pub future_cost_fen: i64,
    /// Today's savings by then.
    pub savings_then_fen: i64,
    /// What is still missing then (0 when the savings suffice).
    pub shortfall_fen: i64,
    /// Saved every month from now on, this closes the gap.
    pub monthly_fen: i64,
    /// Those monthly savings added up.
    pub contributions_fen: i64,
    /// Shown with every plan: an estimate, not advice.
    pub disclaimer: &'static str,
}

/// A field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: &'static str,
}

pub fn plan(input: &PlanInput) -> Result<Plan, Invalid> {
    let invalid = |field, message| Err(Invalid { field, message });
    if input.child_age > 17 {
        return invalid("child_age", "a child's age is 0 to 17");
    }
    if input.target_age <= input.child_age || input.target_age > 30 {
        return invalid("target_age", "after the child's age, and at most 30");
    }
    if !(1..=MAX_FEN).contains(&input.target_fen) {
        return invalid("target_fen", "a cost above 0 and at most 100,000,000 yuan");
    }
    if !(0..=MAX_FEN).contains(&input.savings_fen) {
        return invalid("savings_fen", "savings of 0 to 100,000,000 yuan");
    }
    if input.inflation_bp > MAX_RATE_BP {
        return invalid("inflation_bp", "at most 1000 (10% a year)");
    }
    if input.return_bp > MAX_RATE_BP {
        return invalid("return_bp", "at most 1000 (10% a year)");
    }
    let years = input.target_age - input.child_age;
    let yearly = |bp: u32| 1.0 + f64::from(bp) / 10_000.0;
    let future_cost = input.target_fen as f64 * yearly(input.inflation_bp).powi(years as i32);
    let savings_then = input.savings_fen as f64 * yearly(input.return_bp).powi(years as i32);
    let shortfall = (future_cost - savings_then).max(0.0);
    let months = f64::from(years * 12);
    // The monthly rate that compounds to the yearly return; an annuity of `months` payments then reaches the
    // shortfall (with no return, a plain division).
    let monthly_rate = yearly(input.return_bp).powf(1.0 / 12.0) - 1.0;
    let monthly = if monthly_rate > 0.0 {
        shortfall * monthly_rate / ((1.0 + monthly_rate).powf(months) - 1.0)
    } else {
        shortfall / months
    };
    let monthly_fen = monthly.round() as i64;
    Ok(Plan {
        years,
        future_cost_fen: future_cost.round() as i64,
        savings_then_fen: savings_then.round() as i64,
        shortfall_fen: shortfall.round() as i64,
        monthly_fen,
        contributions_fen: monthly_fen * i64::from(years * 12),
        disclaimer: "测算结果仅供参考，不构成投资建议；理财有风险，投资需谨慎。",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(child_age: u32, target_yuan: i64, savings_yuan: i64) -> PlanInput {
        PlanInput {
            child_age,
            target_age: 18,
            target_fen: target_yuan * 100,
            savings_fen: savings_yuan * 100,
            inflation_bp: 300,
            return_bp: 300,
        }
    }

    // The worked examples were computed apart from this code (Python, the same formulas, in yuan).
    #[test]
    fn a_six_year_old_with_fifty_thousand_saved_toward_three_hundred_thousand() {
        let plan = plan(&input(6, 300_000, 50_000)).unwrap();
        assert_eq!(plan.years, 12);
        assert_eq!(plan.future_cost_fen, 42_772_827); // 300,000 x 1.03^12
        assert_eq!(plan.savings_then_fen, 7_128_804); // 50,000 x 1.03^12
        assert_eq!(plan.shortfall_fen, 35_644_022);
        assert_eq!(plan.monthly_fen, 206_472); // 2,064.72 yuan a month for 144 months
        assert_eq!(plan.contributions_fen, 206_472 * 144);
    }

    #[test]
    fn a_newborn_from_nothing_at_a_four_percent_return() {
        let plan = plan(&PlanInput {
            return_bp: 400,
            ..input(0, 500_000, 0)
        })
        .unwrap();
        assert_eq!(plan.future_cost_fen, 85_121_653);
        assert_eq!(plan.monthly_fen, 271_653);
    }

    #[test]
    fn savings_that_already_suffice_need_nothing_more() {
        let plan = plan(&input(15, 200_000, 250_000)).unwrap();
        assert_eq!(plan.shortfall_fen, 0);
        assert_eq!(plan.monthly_fen, 0);
    }

    #[test]
    fn with_no_growth_at_all_it_is_a_division() {
        let plan = plan(&PlanInput {
            inflation_bp: 0,
            return_bp: 0,
            ..input(10, 100_000, 0)
        })
        .unwrap();
        assert_eq!(plan.monthly_fen, 104_167); // 100,000 / 96 months
    }

    #[test]
    fn impossible_inputs_name_their_field() {
        let field = |input: PlanInput| plan(&input).unwrap_err().field;
        assert_eq!(field(input(18, 1, 0)), "child_age");
        assert_eq!(
            field(PlanInput {
                target_age: 6,
                ..input(6, 1, 0)
            }),
            "target_age"
        );
        assert_eq!(field(input(6, 0, 0)), "target_fen");
        assert_eq!(field(input(6, 1, -1)), "savings_fen");
        assert_eq!(
            field(PlanInput {
                return_bp: 1_001,
                ..input(6, 1, 0)
            }),
            "return_bp"
        );
    }
}
