//! Question banks: single and multiple choice questions (2-6 options, an explanation, tags, a difficulty),
//! imported from CSV or JSON. Every row is checked and every problem reported with its row number; an import
//! with any problem imports nothing.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, Actor};
use crate::entities::{quiz_banks, quiz_questions};
use crate::error::{AppError, ErrorCode};

const OPTION_IDS: [&str; 6] = ["A", "B", "C", "D", "E", "F"];
/// Shown in an error response: enough to fix a file, not so many that the answer is unreadable.
const ERRORS_SHOWN: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("{0}")]
    Invalid(String),
    #[error("{} problem(s): {}", .0.len(), .0.iter().take(ERRORS_SHOWN).cloned().collect::<Vec<_>>().join("; "))]
    Rows(Vec<String>),
    #[error("no such question bank")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for BankError {
    fn from(error: DbErr) -> Self {
        BankError::Unexpected(error.into())
    }
}

impl From<BankError> for AppError {
    fn from(error: BankError) -> Self {
        let message = error.to_string();
        match error {
            BankError::Invalid(_) => AppError::new(ErrorCode::InvalidBank, message),
            BankError::Rows(_) => AppError::new(ErrorCode::InvalidQuestions, message),
            BankError::NotFound => AppError::new(ErrorCode::BankNotFound, message),
            BankError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

/// A question as a file gives it, before checking.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    kind: String,
    stem: String,
    options: Vec<String>,
    answer: Vec<String>,
    #[serde(default)]
    explanation: String,
    #[serde(default)]
    tags: Vec<String>,
    difficulty: Option<i64>,
}

/// A checked question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Question {
    pub kind: String,
    pub stem: String,
    pub options: Vec<String>,
    pub correct: Vec<String>,
    pub explanation: String,
    pub tags: Vec<String>,
    pub difficulty: i16,
}

fn check(raw: RawQuestion) -> Result<Question, Vec<String>> {
    let mut problems = Vec::new();
    let kind = raw.kind.trim().to_lowercase();
    if kind != "single" && kind != "multiple" {
        problems.push(format!("kind: `{}` is not single or multiple", raw.kind));
    }
    let stem = raw.stem.trim().to_owned();
    if stem.is_empty() || stem.chars().count() > 500 {
        problems.push("stem: 1-500 characters".into());
    }
    let options: Vec<String> = raw.options.iter().map(|o| o.trim().to_owned()).collect();
    if !(2..=6).contains(&options.len()) || options.iter().any(String::is_empty) {
        problems.push("options: 2 to 6, none empty".into());
    }
    let mut correct: Vec<String> = raw
        .answer
        .iter()
        .map(|a| a.trim().to_uppercase())
        .filter(|a| !a.is_empty())
        .collect();
    correct.sort();
    correct.dedup();
    let known = &OPTION_IDS[..options.len().min(6)];
    if correct.is_empty() || correct.iter().any(|a| !known.contains(&a.as_str())) {
        problems.push(format!("answer: option letters among {}", known.join(",")));
    } else if kind == "single" && correct.len() != 1 {
        problems.push("answer: a single-choice question has exactly one answer".into());
    } else if kind == "multiple" && correct.len() < 2 {
        problems.push("answer: a multiple-choice question has at least two answers".into());
    }
    let explanation = raw.explanation.trim().to_owned();
    if explanation.is_empty() || explanation.chars().count() > 1000 {
        problems.push("explanation: 1-1000 characters (it is shown after each answer)".into());
    }
    let tags: Vec<String> = raw
        .tags
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if tags.len() > 10 || tags.iter().any(|t| t.chars().count() > 32) {
        problems.push("tags: at most 10, each at most 32 characters".into());
    }
    let difficulty = raw.difficulty.unwrap_or(3);
    if !(1..=5).contains(&difficulty) {
        problems.push("difficulty: 1 to 5".into());
    }
    if problems.is_empty() {
        Ok(Question {
            kind,
            stem,
            options,
            correct,
            explanation,
            tags,
            difficulty: difficulty as i16,
        })
    } else {
        Err(problems)
    }
}

/// CSV columns (a header row first): kind, stem, option_a..option_f, answer (`A` or `A,C`), explanation,
/// tags (`;`-separated), difficulty. Rows are numbered as a spreadsheet shows them: the header is row 1.
fn read_csv(bytes: &[u8]) -> Result<Vec<(usize, RawQuestion)>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| vec![format!("row 1: {e}")])?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let required = [
        "kind",
        "stem",
        "option_a",
        "option_b",
        "answer",
        "explanation",
    ];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| column(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(vec![format!(
            "row 1: missing column(s) {}",
            missing.join(", ")
        )]);
    }
    let options: Vec<Option<usize>> = [
        "option_a", "option_b", "option_c", "option_d", "option_e", "option_f",
    ]
    .iter()
    .map(|c| column(c))
    .collect();
    let (tags, difficulty) = (column("tags"), column("difficulty"));
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.push(format!("row {row}: {error}"));
                continue;
            }
        };
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let mut given: Vec<String> = options.iter().map(|&i| cell(i)).collect();
        while given.last().is_some_and(String::is_empty) {
            given.pop();
        }
        let difficulty = match cell(difficulty) {
            text if text.is_empty() => None,
            text => match text.parse() {
                Ok(n) => Some(n),
                Err(_) => {
                    problems.push(format!("row {row}: difficulty: `{text}` is not a number"));
                    continue;
                }
            },
        };
        rows.push((
            row,
            RawQuestion {
                kind: cell(column("kind")),
                stem: cell(column("stem")),
                options: given,
                answer: cell(column("answer"))
                    .split([',', '，', ' '])
                    .map(str::to_owned)
                    .collect(),
                explanation: cell(column("explanation")),
                tags: cell(tags)
                    .split([';', '；', '|'])
                    .map(str::to_owned)
                    .collect(),
                difficulty,
            },
        ));
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// JSON: an array of `{kind, stem, options: [..], answer: ["A"], explanation, tags: [..], difficulty}`;
/// items are numbered from 1.
fn read_json(bytes: &[u8]) -> Result<Vec<(usize, RawQuestion)>, Vec<String>> {
    let items: Vec<serde_json::Value> = serde_json::from_slice(bytes)
        .map_err(|e| vec![format!("the file is not a JSON array: {e}")])?;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<RawQuestion>(item) {
            Ok(raw) => rows.push((index + 1, raw)),
            Err(error) => problems.push(format!("row {}: {error}", index + 1)),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Reads and checks a whole file: every question, or every problem with its row number.
pub fn parse(
    format: Format,
    bytes: &[u8],
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<Question>, BankError> {
    let rows = match format {
        Format::Csv => read_csv(bytes),
        Format::Json => read_json(bytes),
    }
    .map_err(BankError::Rows)?;
    if rows.is_empty() {
        return Err(BankError::Rows(vec!["the file has no questions".into()]));
    }
    let total = rows.len();
    let mut questions = Vec::with_capacity(total);
    let mut problems = Vec::new();
    for (done, (row, raw)) in rows.into_iter().enumerate() {
        match check(raw) {
            Ok(question) => questions.push(question),
            Err(found) => problems.extend(found.into_iter().map(|p| format!("row {row}: {p}"))),
        }
        progress(done + 1, total);
    }
    if problems.is_empty() {
        Ok(questions)
    } else {
        Err(BankError::Rows(problems))
    }
}

pub async fn create_bank(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    name: &str,
) -> Result<quiz_banks::Model, BankError> {
    let slug_ok = crate::calendar::is_slug(slug);
    if !slug_ok || name.trim().is_empty() || name.chars().count() > 128 {
        return Err(BankError::Invalid(
            "slug (a-z, 0-9, '-') and a name (1-128 characters) are required".into(),
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let bank = quiz_banks::ActiveModel {
        slug: Set(slug.to_owned()),
        name: Set(name.trim().to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            BankError::Invalid("a bank with this slug exists".into())
        }
        _ => e.into(),
    })?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("quiz_bank.create", "quiz_bank", bank.slug.clone()).after(&bank),
    )
    .await?;
    txn.commit().await?;
    Ok(bank)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BankSummary {
    pub slug: String,
    pub name: String,
    pub questions: u64,
}

pub async fn summary(db: &DatabaseConnection, slug: &str) -> Result<BankSummary, BankError> {
    let bank = quiz_banks::Entity::find()
        .filter(quiz_banks::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or(BankError::NotFound)?;
    let questions = quiz_questions::Entity::find()
        .filter(quiz_questions::Column::BankId.eq(bank.id))
        .count(db)
        .await?;
    Ok(BankSummary {
        slug: bank.slug,
        name: bank.name,
        questions,
    })
}

/// Checks `bytes` and, if every row is right, adds every question to the bank in one transaction (audited).
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    format: Format,
    bytes: &[u8],
    progress: &dyn Fn(usize, usize),
) -> Result<usize, BankError> {
    let questions = parse(format, bytes, progress)?;
    let txn = crate::db::begin_write(db).await?;
    let bank = quiz_banks::Entity::find()
        .filter(quiz_banks::Column::Slug.eq(slug))
        .one(&txn)
        .await?
        .ok_or(BankError::NotFound)?;
    let now = Utc::now();
    for batch in questions.chunks(200) {
        let rows = batch.iter().map(|q| quiz_questions::ActiveModel {
            bank_id: Set(bank.id),
            kind: Set(q.kind.clone()),
            stem: Set(q.stem.clone()),
            options: Set(json!(q
                .options
                .iter()
                .zip(OPTION_IDS)
                .map(|(text, id)| json!({ "id": id, "text": text }))
                .collect::<Vec<_>>())),
            correct: Set(json!(q.correct)),
            explanation: Set(q.explanation.clone()),
            tags: Set(json!(q.tags)),
            difficulty: Set(q.difficulty),
            created_at: Set(now),
            ..Default::default()
        });
        quiz_questions::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    audit::record(
        &txn,
        actor,
        audit::Entry::new("quiz_bank.import", "quiz_bank", slug.to_owned())
            .after(&json!({ "imported": questions.len() })),
    )
    .await?;
    txn.commit().await?;
    Ok(questions.len())
}
