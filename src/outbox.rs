//! What customers did, as each domain records it: inside the transaction that did it, once per source, so a
//! reader (the task engine, segments, triggered journeys) never counts one twice nor misses one, whichever
//! instance handled it. Below every domain; it knows none of them.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::entities::customer_events;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    QuizPassed,
    TeamCompleted,
    ReferralCredited,
    PosterMade,
    CouponUsed,
    PhoneBound,
    CheckedIn,
    ContentOpened,
    ContentRead,
    FormSubmitted,
    UploadApproved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::QuizPassed => "quiz_passed",
            EventKind::TeamCompleted => "team_completed",
            EventKind::ReferralCredited => "referral_credited",
            EventKind::PosterMade => "poster_made",
            EventKind::CouponUsed => "coupon_used",
            EventKind::PhoneBound => "phone_bound",
            EventKind::CheckedIn => "checked_in",
            EventKind::ContentOpened => "content_opened",
            EventKind::ContentRead => "content_read",
            EventKind::FormSubmitted => "form_submitted",
            EventKind::UploadApproved => "upload_approved",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == text)
    }

    pub const ALL: [EventKind; 11] = [
        EventKind::QuizPassed,
        EventKind::TeamCompleted,
        EventKind::ReferralCredited,
        EventKind::PosterMade,
        EventKind::CouponUsed,
        EventKind::PhoneBound,
        EventKind::CheckedIn,
        EventKind::ContentOpened,
        EventKind::ContentRead,
        EventKind::FormSubmitted,
        EventKind::UploadApproved,
    ];

    /// Whether the task engine has anything to settle for it (an open is only half of a read).
    pub fn counts_for_tasks(self) -> bool {
        self != EventKind::ContentOpened
    }
}

/// One event, as its domain names it.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub user_id: i64,
    pub kind: EventKind,
    /// Names what happened, once per kind: `quiz:<activity>:<level>:<user>`, `team:<team>:<user>` ...
    pub source_ref: &'a str,
    pub campaign_id: Option<i64>,
    pub activity_id: Option<i64>,
    /// What it was about, for matching: the quiz level, the coupon's template, the content id, the day.
    pub subject: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// When the event of `kind` from `source_ref` was recorded, if it was.
pub async fn recorded_at(
    conn: &impl ConnectionTrait,
    kind: EventKind,
    source_ref: &str,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(customer_events::Entity::find()
        .filter(customer_events::Column::Kind.eq(kind.as_str()))
        .filter(customer_events::Column::SourceRef.eq(source_ref))
        .one(conn)
        .await?
        .map(|event| event.occurred_at))
}

/// Records `event` on the caller's transaction; a repeat of its source records nothing. Returns whether it was
/// new.
pub async fn record(conn: &impl ConnectionTrait, event: &Event<'_>) -> Result<bool, DbErr> {
    let row = customer_events::ActiveModel {
        user_id: Set(event.user_id),
        kind: Set(event.kind.as_str().into()),
        source_ref: Set(event.source_ref.to_owned()),
        campaign_id: Set(event.campaign_id),
        activity_id: Set(event.activity_id),
        occurred_at: Set(event.at),
        subject: Set(event.subject.map(str::to_owned)),
        // Nothing for the task engine to settle: born settled, so its queue holds only what it must read.
        tasks_settled_at: Set((!event.kind.counts_for_tasks()).then_some(event.at)),
        ..Default::default()
    };
    let inserted = customer_events::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                customer_events::Column::Kind,
                customer_events::Column::SourceRef,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(inserted == 1)
}

/// `SELECT user_id FROM customer_events WHERE ...`: one row per matching event, for a segment's "did X" (the
/// caller groups or not).
pub fn matching(
    kind: EventKind,
    campaign_id: Option<i64>,
    subject: Option<&str>,
    since: Option<DateTime<Utc>>,
) -> sea_orm::sea_query::SelectStatement {
    use customer_events::Column;
    let mut query = sea_orm::sea_query::Query::select();
    query
        .column(Column::UserId)
        .from(customer_events::Entity)
        .and_where(Column::Kind.eq(kind.as_str()));
    if let Some(campaign_id) = campaign_id {
        query.and_where(Column::CampaignId.eq(campaign_id));
    }
    if let Some(subject) = subject {
        query.and_where(Column::Subject.eq(subject));
    }
    if let Some(since) = since {
        query.and_where(Column::OccurredAt.gte(since));
    }
    query
}

/// The customers with any event of `campaign_id`: a campaign's participants, as far as the domains record.
pub fn of_campaign(campaign_id: i64) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(customer_events::Column::UserId)
        .from(customer_events::Entity)
        .and_where(customer_events::Column::CampaignId.eq(campaign_id))
        .to_owned()
}
