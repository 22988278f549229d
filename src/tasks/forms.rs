//! Form tasks (a monthly budget, a savings goal): answers checked against the activity's fields, kept, shown
//! back, and changed later if the customer wants; the task is done (and pays) on the first submission only.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Map, Value};

use super::model::{FieldKind, FormField, TaskError, TaskKind};
use super::settle::{settle_after_action, TaskPaid};
use crate::campaigns::gate::{self, Scope};
use crate::entities::task_forms;
use crate::outbox::{self, Event, EventKind};
use crate::state::Context;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FormSaved {
    pub answers: Value,
    pub paid: Vec<TaskPaid>,
}

/// The answers, each field checked; unknown keys refused. Returns them normalised (text trimmed).
pub fn check_answers(fields: &[FormField], answers: &Value) -> Result<Value, TaskError> {
    let invalid = |message: String| Err(TaskError::InvalidForm(message));
    let Some(given) = answers.as_object() else {
        return invalid("answers must be an object of field names".into());
    };
    if let Some(unknown) = given.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
        return invalid(format!("{unknown}: no such field"));
    }
    let mut kept = Map::new();
    for field in fields {
        let value = match given.get(&field.name) {
            None | Some(Value::Null) if field.required => {
                return invalid(format!("{}: required", field.name))
            }
            None | Some(Value::Null) => continue,
            Some(value) => value,
        };
        let value = match field.kind {
            FieldKind::Number => {
                let (min, max) = (field.min.unwrap_or(0), field.max.unwrap_or(0));
                match value.as_i64() {
                    Some(n) if (min..=max).contains(&n) => Value::from(n),
                    _ => {
                        return invalid(format!(
                            "{}: a whole number from {min} to {max}",
                            field.name
                        ))
                    }
                }
            }
            FieldKind::Text => {
                let text = value.as_str().map(str::trim).unwrap_or_default();
                let length = text.chars().count() as u32;
                if length == 0 || length > field.text_limit() || text.chars().any(char::is_control)
                {
                    return invalid(format!(
                        "{}: 1-{} characters on one line",
                        field.name,
                        field.text_limit()
                    ));
                }
                Value::from(text)
            }
            FieldKind::Choice => match value.as_str() {
                Some(choice) if field.options.iter().any(|o| o == choice) => Value::from(choice),
                _ => {
                    return invalid(format!(
                        "{}: one of {}",
                        field.name,
                        field.options.join(" / ")
                    ))
                }
            },
        };
        kept.insert(field.name.clone(), value);
    }
    Ok(Value::Object(kept))
}

pub async fn submit_form(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    activity_slug: &str,
    task_id: &str,
    answers: &Value,
) -> Result<FormSaved, TaskError> {
    let admitted = gate::admit(
        cx.db,
        cx.store,
        campaign_slug,
        Scope::Tasks(activity_slug),
        cx.now,
    )
    .await?;
    let activity = admitted.activity.ok_or(TaskError::TaskNotFound)?;
    let located = super::lookup::task_in(&activity, task_id)?;
    if located.task.kind != TaskKind::FormSubmitted {
        return Err(TaskError::TaskNotFound);
    }
    let first_seen = crate::users::service::first_seen(cx.db, user_id)
        .await?
        .unwrap_or(cx.now);
    super::lookup::may_act(&located, first_seen, cx.now)?;
    let answers = check_answers(&located.task.fields, answers)?;
    let txn = crate::db::begin_write(cx.db).await?;
    task_forms::Entity::insert(task_forms::ActiveModel {
        user_id: Set(user_id),
        activity_id: Set(activity.id),
        task_id: Set(task_id.to_owned()),
        answers: Set(answers.clone()),
        submitted_at: Set(cx.now),
        updated_at: Set(cx.now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            task_forms::Column::UserId,
            task_forms::Column::ActivityId,
            task_forms::Column::TaskId,
        ])
        .update_columns([task_forms::Column::Answers, task_forms::Column::UpdatedAt])
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    outbox::record(
        &txn,
        &Event {
            user_id,
            kind: EventKind::FormSubmitted,
            source_ref: &format!("form:{}:{task_id}:{user_id}", activity.id),
            campaign_id: Some(admitted.campaign.id),
            activity_id: Some(activity.id),
            subject: Some(task_id),
            at: cx.now,
        },
    )
    .await?;
    txn.commit().await?;
    let paid = settle_after_action(cx, user_id).await;
    Ok(FormSaved { answers, paid })
}

/// The customer's answers to each form task of `activity_id`, by task id.
pub async fn answers_of(
    db: &sea_orm::DatabaseConnection,
    user_id: i64,
    activity_id: i64,
) -> Result<std::collections::HashMap<String, Value>, sea_orm::DbErr> {
    Ok(task_forms::Entity::find()
        .filter(task_forms::Column::UserId.eq(user_id))
        .filter(task_forms::Column::ActivityId.eq(activity_id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.task_id, row.answers))
        .collect())
}
