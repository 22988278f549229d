//! The bank's CRM export: each customer's asset tier and labels, imported from CSV
//! (`wxcampaign users import-tiers FILE`). Every row is checked first and every problem reported with its line
//! number; a file with any problem changes nothing. Customers the export names but we have never seen are
//! counted, not refused: a CRM exports all its customers, and most have not opened the mini-program yet.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Actor};
use crate::entities::{customer_tags, users};

/// Problems listed in an error: enough to fix a file, not so many that the message is unreadable.
const PROBLEMS_SHOWN: usize = 50;
/// Labels one row may give a customer.
const MAX_TAGS: usize = 20;
/// Rows of one import: a bank's whole customer base in one file, read in memory.
pub const MAX_ROWS: usize = 2_000_000;
/// Ids per statement: within SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum CrmImportError {
    #[error("{} problem(s): {}", .0.len(), .0.iter().take(PROBLEMS_SHOWN).cloned().collect::<Vec<_>>().join("; "))]
    Rows(Vec<String>),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for CrmImportError {
    fn from(error: DbErr) -> Self {
        CrmImportError::Unexpected(error.into())
    }
}

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TierImport {
    pub rows: usize,
    /// Rows whose customer we know: their tier (and labels, when the file has a `tags` column) now match it.
    pub updated: usize,
    /// Rows naming nobody we know.
    pub unmatched: usize,
}

/// How the file names its customers: its first column's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyColumn {
    UserId,
    Unionid,
    /// Either openid (the official account's, which a bank's CRM links, or the mini-program's).
    Openid,
}

impl KeyColumn {
    fn parse(header: &str) -> Option<Self> {
        match header.trim() {
            "user_id" => Some(Self::UserId),
            "unionid" => Some(Self::Unionid),
            "openid" => Some(Self::Openid),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Row {
    line: usize,
    key: String,
    tier: Option<String>,
    /// `None` when the file has no `tags` column: the customer's labels are left as they are.
    tags: Option<Vec<String>>,
}

/// Checks the whole file and returns its rows, or every problem in it.
fn parse(bytes: &[u8], tiers: &[String]) -> Result<(KeyColumn, Vec<Row>), CrmImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let one = |problem: String| CrmImportError::Rows(vec![problem]);
    let headers = reader
        .headers()
        .map_err(|e| one(format!("line 1: {e}")))?
        .clone();
    let names: Vec<&str> = headers.iter().collect();
    let key = names
        .first()
        .and_then(|h| KeyColumn::parse(h))
        .ok_or_else(|| {
            one("line 1: the first column must be user_id, unionid or openid".to_owned())
        })?;
    let tier_at = names.iter().position(|h| *h == "asset_tier");
    let tags_at = names.iter().position(|h| *h == "tags");
    let Some(tier_at) = tier_at else {
        return Err(one("line 1: an asset_tier column is required".to_owned()));
    };
    if let Some(unknown) = names
        .iter()
        .skip(1)
        .find(|h| !matches!(**h, "asset_tier" | "tags"))
    {
        return Err(one(format!(
            "line 1: unknown column `{unknown}` (columns: the key, asset_tier, tags)"
        )));
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashMap::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        if rows.len() >= MAX_ROWS {
            problems.push(format!("line {line}: more than {MAX_ROWS} rows"));
            break;
        }
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.push(format!("line {line}: {error}"));
                continue;
            }
        };
        let mut problem = |text: String| problems.push(format!("line {line}: {text}"));
        let mut key_value = record.get(0).unwrap_or_default().to_owned();
        let key_ok = match key {
            // `007` is customer 7: written as the id is, so one customer cannot hide under two spellings.
            KeyColumn::UserId => match key_value.parse::<i64>() {
                Ok(id) if id > 0 => {
                    key_value = id.to_string();
                    true
                }
                _ => false,
            },
            KeyColumn::Unionid | KeyColumn::Openid => {
                (6..=64).contains(&key_value.len())
                    && key_value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            }
        };
        if !key_ok {
            problem(format!("`{key_value}` is not a valid {}", names[0]));
            continue;
        }
        if let Some(first) = seen.insert(key_value.clone(), line) {
            problem(format!("{key_value} is also on line {first}"));
            continue;
        }
        let tier = record.get(tier_at).unwrap_or_default();
        if !tier.is_empty() && !tiers.iter().any(|t| t == tier) {
            problem(format!(
                "asset_tier `{tier}` is not one of {}",
                tiers.join(", ")
            ));
            continue;
        }
        let tags = match tags_at {
            None => None,
            Some(at) => {
                let mut tags: Vec<String> = record
                    .get(at)
                    .unwrap_or_default()
                    .split('|')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect();
                tags.sort();
                tags.dedup();
                if tags.len() > MAX_TAGS {
                    problem(format!("more than {MAX_TAGS} tags"));
                    continue;
                }
                if let Some(bad) = tags
                    .iter()
                    .find(|t| t.chars().count() > 32 || t.chars().any(char::is_control))
                {
                    problem(format!(
                        "tag `{bad}`: at most 32 characters, no control characters"
                    ));
                    continue;
                }
                Some(tags)
            }
        };
        rows.push(Row {
            line,
            key: key_value,
            tier: (!tier.is_empty()).then(|| tier.to_owned()),
            tags,
        });
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push("the file has no rows".to_owned());
    }
    if problems.is_empty() {
        Ok((key, rows))
    } else {
        Err(CrmImportError::Rows(problems))
    }
}

/// Imports the CRM export in one transaction, reporting `(rows done, rows)` as it goes.
pub async fn import_tiers(
    db: &DatabaseConnection,
    actor: &Actor,
    bytes: &[u8],
    tiers: &[String],
    now: DateTime<Utc>,
    progress: &dyn Fn(usize, usize),
) -> Result<TierImport, CrmImportError> {
    let (key, rows) = parse(bytes, tiers)?;
    let total = rows.len();
    let txn = crate::db::begin_write(db).await?;
    let mut outcome = TierImport {
        rows: total,
        ..Default::default()
    };
    // A customer is one row: two rows naming one customer (their official-account and mini-program openids)
    // would leave whichever came last, so the file is refused and nothing changes.
    let mut lines_of = HashMap::new();
    let mut twice = Vec::new();
    for (done, chunk) in rows.chunks(CHUNK).enumerate() {
        let ids = resolve(&txn, key, chunk).await?;
        let known: Vec<(i64, &Row)> = chunk
            .iter()
            .filter_map(|row| ids.get(&row.key).map(|id| (*id, row)))
            .collect();
        for (id, row) in &known {
            if let Some(first) = lines_of.insert(*id, row.line) {
                twice.push(format!(
                    "line {}: names the same customer as line {first}",
                    row.line
                ));
            }
        }
        if !twice.is_empty() {
            continue;
        }
        outcome.updated += known.len();
        outcome.unmatched += chunk.len() - known.len();
        write_tiers(&txn, &known, now).await?;
        write_tags(&txn, &known, now).await?;
        progress((done * CHUNK + chunk.len()).min(total), total);
    }
    if !twice.is_empty() {
        return Err(CrmImportError::Rows(twice));
    }
    audit::record(
        &txn,
        actor,
        audit::Entry::new("users.import_tiers", "users", "crm".to_owned()).after(&json!(outcome)),
    )
    .await?;
    txn.commit().await?;
    Ok(outcome)
}

/// The user id of each key of `chunk` that names a customer we know.
async fn resolve(
    conn: &impl ConnectionTrait,
    key: KeyColumn,
    chunk: &[Row],
) -> Result<HashMap<String, i64>, DbErr> {
    let keys: Vec<&str> = chunk.iter().map(|row| row.key.as_str()).collect();
    // (id, unionid, official-account openid, mini-program openid)
    type Names = (i64, Option<String>, Option<String>, Option<String>);
    let found: Vec<Names> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::Unionid)
        .column(users::Column::OaOpenid)
        .column(users::Column::MpOpenid)
        .filter(match key {
            KeyColumn::UserId => Condition::all()
                .add(users::Column::Id.is_in(keys.iter().filter_map(|k| k.parse::<i64>().ok()))),
            KeyColumn::Unionid => Condition::all().add(users::Column::Unionid.is_in(keys.clone())),
            KeyColumn::Openid => Condition::any()
                .add(users::Column::OaOpenid.is_in(keys.clone()))
                .add(users::Column::MpOpenid.is_in(keys.clone())),
        })
        .into_tuple()
        .all(conn)
        .await?;
    let wanted: HashSet<&str> = keys.into_iter().collect();
    let mut ids = HashMap::new();
    for (id, unionid, oa, mp) in found {
        let names = match key {
            KeyColumn::UserId => vec![Some(id.to_string())],
            KeyColumn::Unionid => vec![unionid],
            KeyColumn::Openid => vec![oa, mp],
        };
        for name in names.into_iter().flatten() {
            if wanted.contains(name.as_str()) {
                ids.insert(name, id);
            }
        }
    }
    Ok(ids)
}

/// One statement per tier: the customers of the chunk who have it.
async fn write_tiers(
    conn: &impl ConnectionTrait,
    known: &[(i64, &Row)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut by_tier: HashMap<Option<&str>, Vec<i64>> = HashMap::new();
    for (id, row) in known {
        by_tier.entry(row.tier.as_deref()).or_default().push(*id);
    }
    for (tier, ids) in by_tier {
        users::Entity::update_many()
            .col_expr(
                users::Column::AssetTier,
                Expr::value(tier.map(str::to_owned)),
            )
            .col_expr(users::Column::AssetTierAt, Expr::value(now))
            .filter(users::Column::Id.is_in(ids))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// The chunk's customers' labels become the file's, for a file with a `tags` column.
async fn write_tags(
    conn: &impl ConnectionTrait,
    known: &[(i64, &Row)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let tagged: Vec<(i64, &Vec<String>)> = known
        .iter()
        .filter_map(|(id, row)| row.tags.as_ref().map(|tags| (*id, tags)))
        .collect();
    if tagged.is_empty() {
        return Ok(());
    }
    customer_tags::Entity::delete_many()
        .filter(customer_tags::Column::UserId.is_in(tagged.iter().map(|(id, _)| *id)))
        .exec(conn)
        .await?;
    let rows: Vec<customer_tags::ActiveModel> = tagged
        .iter()
        .flat_map(|(id, tags)| {
            tags.iter().map(move |tag| customer_tags::ActiveModel {
                user_id: Set(*id),
                tag: Set(tag.clone()),
                tagged_at: Set(now),
                ..Default::default()
            })
        })
        .collect();
    // Within the bound-parameter limits: three values a row.
    for batch in rows.chunks(CHUNK) {
        customer_tags::Entity::insert_many(batch.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers() -> Vec<String> {
        vec!["gold".into(), "private".into()]
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let file = "openid,asset_tier,tags\noAAAAAAAA1,gold,房贷客户|代发工资\noAAAAAAAA1,gold,\nbad key!,gold,\noBBBBBBBB2,silver,\n";
        let Err(CrmImportError::Rows(problems)) = parse(file.as_bytes(), &tiers()) else {
            panic!("the file has problems");
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("line 3:") && problems[0].contains("line 2"));
        assert!(problems[1].starts_with("line 4:"));
        assert!(problems[2].starts_with("line 5:") && problems[2].contains("silver"));
    }

    #[test]
    fn a_good_file_gives_its_rows_and_an_empty_tier_clears() {
        let file = "user_id,asset_tier\n7,private\n8,\n";
        let (key, rows) = parse(file.as_bytes(), &tiers()).unwrap();
        assert_eq!(key, KeyColumn::UserId);
        assert_eq!(rows[0].tier.as_deref(), Some("private"));
        assert_eq!(rows[1].tier, None);
        assert!(rows[0].tags.is_none(), "no tags column leaves tags alone");
    }

    #[test]
    fn a_user_id_is_read_as_a_number_so_one_customer_has_one_spelling() {
        let file = "user_id,asset_tier\n007,gold\n7,private\n";
        let Err(CrmImportError::Rows(problems)) = parse(file.as_bytes(), &tiers()) else {
            panic!("customer 7 is named twice");
        };
        assert_eq!(problems, vec!["line 3: 7 is also on line 2".to_owned()]);
        let (_, rows) = parse(b"user_id,asset_tier\n007,gold\n", &tiers()).unwrap();
        assert_eq!(rows[0].key, "7");
    }

    #[test]
    fn headers_are_checked() {
        for file in [
            "phone,asset_tier\n1,gold\n",
            "user_id,tags\n1,a\n",
            "user_id,asset_tier,nickname\n1,gold,x\n",
        ] {
            assert!(parse(file.as_bytes(), &tiers()).is_err(), "{file}");
        }
    }
}
