use sea_orm::entity::prelude::*;

/// One question: single or multiple choice, 2-6 options, the correct option ids, an explanation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "quiz_questions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub bank_id: i64,
    /// single or multiple
    pub kind: String,
    pub stem: String,
    /// `[{"id": "A", "text": "..."}, ...]`
    pub options: Json,
    /// `["A"]` or `["A", "C"]`: never sent to a customer before they answer.
    pub correct: Json,
    pub explanation: String,
    pub tags: Json,
    /// 1 (easy) to 5 (hard).
    pub difficulty: i16,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
