use sea_orm::entity::prelude::*;

/// A push: a channel, its variants, the segment it goes to and when; or a journey's step (no segment).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pushes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// `subscribe`, `template`, `mass` or `customer_service`.
    pub channel: String,
    pub segment_slug: Option<String>,
    /// `[{ "name", "weight", "template_id", "fields", "page", "url", "text", "media_id" }]`
    pub variants: Json,
    /// `hold` (until the quiet hours end) or `drop`.
    pub quiet_hours: String,
    pub scheduled_for: Option<DateTimeUtc>,
    /// draft, scheduled, sending, sent, cancelled
    pub status: String,
    pub mass_tag_id: Option<i64>,
    pub mass_msg_id: Option<String>,
    /// MASSSENDJOBFINISH's counts, once WeChat reports them.
    pub mass_result: Option<Json>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// The last customer id the fan-out queued: a stalled fan-out resumes after it.
    pub fanout_after: Option<i64>,
    /// When the fan-out last moved on: one that stops moving is taken up by another instance.
    pub fanout_beat: Option<DateTimeUtc>,
    /// When the fan-out reached the segment's end: before then the push is not finished.
    pub fanned_out_at: Option<DateTimeUtc>,
    /// The client id of a mass batch whose call got no answer: its retry is that batch, under that id.
    pub mass_pending_client_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
