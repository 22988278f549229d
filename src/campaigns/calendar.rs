//! The yearly calendar file (`config/calendar/2026.toml`): read, check, and report every problem as
//! `file:line: field: message`, so an operator can fix the file before anything is applied.

use std::path::Path;

use serde::Deserialize;

use super::model::{self, CampaignInput, FieldError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    campaigns: Vec<CampaignInput>,
}

/// Reads and checks a calendar; on failure, every problem with its line.
pub fn read(path: &Path) -> Result<Vec<CampaignInput>, Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    parse(&path.display().to_string(), &text)
}

pub fn parse(file: &str, text: &str) -> Result<Vec<CampaignInput>, Vec<String>> {
    let calendar: CalendarFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| line_of(text, span.start)).unwrap_or(1);
        vec![format!("{file}:{line}: {}", e.message())]
    })?;
    let errors: Vec<String> = calendar
        .campaigns
        .iter()
        .enumerate()
        .flat_map(|(i, campaign)| {
            model::validate(campaign)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(move |e| (i, e))
        })
        .map(|(i, error)| locate(file, text, i, &error))
        .collect();
    if errors.is_empty() {
        Ok(calendar.campaigns)
    } else {
        Err(errors)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of `field` (e.g. `activities[1].ends_at`) inside the `index`-th `[[campaigns]]` table: the key's own
/// line when it can be found, else its table's header.
fn locate(file: &str, text: &str, index: usize, error: &FieldError) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let headers = |name: &str, from: usize, to: usize| -> Vec<usize> {
        (from..to).filter(|&n| lines[n].trim() == name).collect()
    };
    let campaigns = headers("[[campaigns]]", 0, lines.len());
    let start = campaigns.get(index).copied().unwrap_or(0);
    let end = campaigns.get(index + 1).copied().unwrap_or(lines.len());
    let (mut from, mut to, mut key) = (start, end, error.field.as_str());
    if let Some(rest) = key.strip_prefix("activities[") {
        if let Some((n, field)) = rest.split_once("].") {
            let activities = headers("[[campaigns.activities]]", start, end);
            if let Some(&header) = n.parse::<usize>().ok().and_then(|n| activities.get(n)) {
                from = header;
                to = activities
                    .iter()
                    .copied()
                    .find(|&h| h > header)
                    .unwrap_or(end);
            }
            key = field;
        }
    } else {
        // Campaign keys come before the first activity table.
        to = headers("[[campaigns.activities]]", start, end)
            .first()
            .copied()
            .unwrap_or(end);
    }
    let key = key.split('.').next().unwrap_or(key);
    let line = (from..to)
        .find(|&n| {
            lines[n].trim_start().starts_with(key)
                && lines[n][lines[n].find(key).unwrap_or(0) + key.len()..]
                    .trim_start()
                    .starts_with('=')
        })
        .unwrap_or(from);
    format!("{file}:{}: campaigns[{index}].{error}", line + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[campaigns]]
slug = "q1-2026"
name = "新春财富嘉年华"
theme = "新春"
year = 2026
quarter = 1
preheat_at = "2026-01-10 10:00"
starts_at = "2026-01-20 10:00"
ends_at = "2026-04-01 00:00"
rules_text = "规则"

[[campaigns.activities]]
slug = "quiz"
kind = "quiz"
name = "压岁钱规划"
starts_at = "2026-01-20 10:00"
ends_at = "2026-03-01 00:00"
config = { bank = "demo", levels = [{ name = "压岁钱规划", questions = 5, seconds_per_question = 20, pass_score = 4 }] }
"#;

    #[test]
    fn a_good_calendar_reads() {
        assert_eq!(parse("c.toml", GOOD).unwrap().len(), 1);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let inverted = GOOD.replace(
            r#"ends_at = "2026-03-01 00:00""#,
            r#"ends_at = "2026-01-01 00:00""#,
        );
        let errors = parse("c.toml", &inverted).unwrap_err();
        assert_eq!(
            errors,
            vec!["c.toml:18: campaigns[0].activities[0].ends_at: must be after starts_at"]
        );

        let bad_kind = GOOD.replace(r#"kind = "quiz""#, r#"kind = "karaoke""#);
        let errors = parse("c.toml", &bad_kind).unwrap_err();
        assert!(
            errors[0].starts_with("c.toml:") && errors[0].contains("karaoke"),
            "{errors:?}"
        );

        let bad_quarter = GOOD.replace("quarter = 1", "quarter = 7");
        assert_eq!(
            parse("c.toml", &bad_quarter).unwrap_err(),
            vec!["c.toml:7: campaigns[0].quarter: must be 1, 2, 3 or 4"]
        );

        let bad_config = GOOD.replace(
            r#"levels = [{ name = "压岁钱规划", questions = 5, seconds_per_question = 20, pass_score = 4 }]"#,
            "levels = []",
        );
        let errors = parse("c.toml", &bad_config).unwrap_err();
        assert!(
            errors[0].starts_with("c.toml:19: campaigns[0].activities[0].config:"),
            "{errors:?}"
        );
    }
}
