//! `AppError`: the one type handlers return, and `ErrorCode`: the one list of error codes the API answers, each
//! with its HTTP status. Domain errors convert into `AppError`; it renders `{"code": "snake_case", "message":
//! "..."}`. 5xx bodies are opaque; the cause chain is logged.

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::store::StoreError;

/// Declares `ErrorCode`: each variant's wire name and HTTP status, in one place.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal => $status:ident,)*) => {
        /// Every error code the API answers. A code has one status everywhere; clients key their messages on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code with this wire name.
            pub fn parse(name: &str) -> Option<ErrorCode> {
                ErrorCode::ALL.iter().copied().find(|code| code.as_str() == name)
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

error_codes! {
    // Requests and bodies
    InvalidQuery = "invalid_query" => BAD_REQUEST,
    InvalidPath = "invalid_path" => BAD_REQUEST,
    InvalidBody = "invalid_body" => BAD_REQUEST,
    MalformedJson = "malformed_json" => BAD_REQUEST,
    InvalidField = "invalid_field" => BAD_REQUEST,
    InvalidInput = "invalid_input" => BAD_REQUEST,
    NotFound = "not_found" => NOT_FOUND,
    PayloadTooLarge = "payload_too_large" => PAYLOAD_TOO_LARGE,
    UnsupportedMediaType = "unsupported_media_type" => UNSUPPORTED_MEDIA_TYPE,
    RateLimited = "rate_limited" => TOO_MANY_REQUESTS,
    IdempotencyKeyMissing = "idempotency_key_missing" => BAD_REQUEST,
    IdempotencyKeyInvalid = "idempotency_key_invalid" => BAD_REQUEST,
    IdempotencyKeyReused = "idempotency_key_reused" => UNPROCESSABLE_ENTITY,
    IdempotencyInProgress = "idempotency_in_progress" => CONFLICT,
    ConcurrentRequest = "concurrent_request" => CONFLICT,
    InternalError = "internal_error" => INTERNAL_SERVER_ERROR,
    ServiceUnavailable = "service_unavailable" => SERVICE_UNAVAILABLE,
    /// The store forgot some counters and another instance is rebuilding them from the database.
    StoreRebuilding = "store_rebuilding" => SERVICE_UNAVAILABLE,
    // Accounts and logins
    MissingToken = "missing_token" => UNAUTHORIZED,
    InvalidToken = "invalid_token" => UNAUTHORIZED,
    AccountDisabled = "account_disabled" => UNAUTHORIZED,
    InvalidCredentials = "invalid_credentials" => UNAUTHORIZED,
    Forbidden = "forbidden" => FORBIDDEN,
    UsernameTaken = "username_taken" => CONFLICT,
    UserNotFound = "user_not_found" => NOT_FOUND,
    InvalidOpenid = "invalid_openid" => BAD_REQUEST,
    InvalidCode = "invalid_code" => BAD_REQUEST,
    WatermarkMismatch = "watermark_mismatch" => BAD_REQUEST,
    RiskyUser = "risky_user" => FORBIDDEN,
    InvalidState = "invalid_state" => BAD_REQUEST,
    InvalidNext = "invalid_next" => BAD_REQUEST,
    InvalidUrl = "invalid_url" => BAD_REQUEST,
    // Calls to WeChat
    WechatTimeout = "wechat_timeout" => GATEWAY_TIMEOUT,
    WechatUnavailable = "wechat_unavailable" => BAD_GATEWAY,
    WechatError = "wechat_error" => BAD_GATEWAY,
    WechatBadResponse = "wechat_bad_response" => BAD_GATEWAY,
    // The official-account callback
    MissingParameters = "missing_parameters" => BAD_REQUEST,
    InvalidEchostr = "invalid_echostr" => BAD_REQUEST,
    InvalidSignature = "invalid_signature" => UNAUTHORIZED,
    StaleTimestamp = "stale_timestamp" => UNAUTHORIZED,
    ReplayedNonce = "replayed_nonce" => CONFLICT,
    EncryptionRequired = "encryption_required" => BAD_REQUEST,
    DecryptFailed = "decrypt_failed" => BAD_REQUEST,
    AppidMismatch = "appid_mismatch" => BAD_REQUEST,
    MalformedXml = "malformed_xml" => BAD_REQUEST,
    DoctypeForbidden = "doctype_forbidden" => BAD_REQUEST,
    InvalidMessage = "invalid_message" => BAD_REQUEST,
    InvalidRule = "invalid_rule" => BAD_REQUEST,
    RuleNotFound = "rule_not_found" => NOT_FOUND,
    // Campaigns and the calendar
    InvalidCampaign = "invalid_campaign" => BAD_REQUEST,
    CampaignNotFound = "campaign_not_found" => NOT_FOUND,
    SlugTaken = "slug_taken" => CONFLICT,
    CampaignLive = "campaign_live" => CONFLICT,
    InvalidTransition = "invalid_transition" => CONFLICT,
    WindowOverlap = "window_overlap" => CONFLICT,
    CampaignNotLive = "campaign_not_live" => CONFLICT,
    CampaignPaused = "campaign_paused" => CONFLICT,
    ActivityNotLive = "activity_not_live" => CONFLICT,
    ActivityNotFound = "activity_not_found" => NOT_FOUND,
    // Points and the catalogue
    InvalidPoints = "invalid_points" => BAD_REQUEST,
    InsufficientPoints = "insufficient_points" => CONFLICT,
    SourceReused = "source_reused" => CONFLICT,
    InvalidItem = "invalid_item" => BAD_REQUEST,
    ItemNotFound = "item_not_found" => NOT_FOUND,
    RedeemLimitReached = "redeem_limit_reached" => CONFLICT,
    OutOfStock = "out_of_stock" => CONFLICT,
    // Lotteries
    InvalidPool = "invalid_pool" => BAD_REQUEST,
    PoolNotFound = "pool_not_found" => NOT_FOUND,
    PoolFrozen = "pool_frozen" => CONFLICT,
    NoChance = "no_chance" => CONFLICT,
    ChancesNotForSale = "chances_not_for_sale" => CONFLICT,
    ChanceCapReached = "chance_cap_reached" => CONFLICT,
    // Coupons
    InvalidCoupon = "invalid_coupon" => BAD_REQUEST,
    CouponNotFound = "coupon_not_found" => NOT_FOUND,
    CouponLimitReached = "coupon_limit_reached" => CONFLICT,
    CouponsSoldOut = "coupons_sold_out" => CONFLICT,
    CouponNotUsable = "coupon_not_usable" => CONFLICT,
    // Won prizes and their delivery
    PrizeNotFound = "prize_not_found" => NOT_FOUND,
    PrizeNotPhysical = "prize_not_physical" => CONFLICT,
    InvalidAddress = "invalid_address" => BAD_REQUEST,
    AddressAlreadySubmitted = "address_already_submitted" => CONFLICT,
    DeliveryNotFound = "delivery_not_found" => NOT_FOUND,
    InvalidShipment = "invalid_shipment" => BAD_REQUEST,
    AlreadyShipped = "already_shipped" => CONFLICT,
    // Quizzes
    InvalidBank = "invalid_bank" => BAD_REQUEST,
    BankNotFound = "bank_not_found" => NOT_FOUND,
    InvalidQuestions = "invalid_questions" => BAD_REQUEST,
    QuizNotFound = "quiz_not_found" => NOT_FOUND,
    QuizUnavailable = "quiz_unavailable" => SERVICE_UNAVAILABLE,
    LevelNotFound = "level_not_found" => NOT_FOUND,
    LevelLocked = "level_locked" => CONFLICT,
    DailyLimitReached = "daily_limit_reached" => TOO_MANY_REQUESTS,
    AttemptNotFound = "attempt_not_found" => NOT_FOUND,
    AttemptExpired = "attempt_expired" => GONE,
    AttemptFinished = "attempt_finished" => CONFLICT,
    NotCurrentQuestion = "not_current_question" => CONFLICT,
    AlreadyAnswered = "already_answered" => CONFLICT,
    InvalidOption = "invalid_option" => BAD_REQUEST,
    // Teams
    TeamNotFound = "team_not_found" => NOT_FOUND,
    TeamFull = "team_full" => CONFLICT,
    TeamExpired = "team_expired" => CONFLICT,
    OwnTeam = "own_team" => CONFLICT,
    AlreadyInTeam = "already_in_team" => CONFLICT,
    NotNewCustomer = "not_new_customer" => FORBIDDEN,
    // Posters
    PosterNotFound = "poster_not_found" => NOT_FOUND,
    ContentRejected = "content_rejected" => UNPROCESSABLE_ENTITY,
    ContentUnchecked = "content_unchecked" => CONFLICT,
    // Tasks, check-ins and plans
    TaskNotFound = "task_not_found" => NOT_FOUND,
    AlreadyCheckedIn = "already_checked_in" => CONFLICT,
    ContentNotFound = "content_not_found" => NOT_FOUND,
    ContentNotOpened = "content_not_opened" => CONFLICT,
    ReadTooShort = "read_too_short" => CONFLICT,
    PlanDayLocked = "plan_day_locked" => CONFLICT,
    InvalidForm = "invalid_form" => UNPROCESSABLE_ENTITY,
    UploadExists = "upload_exists" => CONFLICT,
    UploadNotFound = "upload_not_found" => NOT_FOUND,
    UploadDecided = "upload_decided" => CONFLICT,
    // Behaviour events and segments
    InvalidEvents = "invalid_events" => BAD_REQUEST,
    InvalidSegmentRule = "invalid_segment_rule" => BAD_REQUEST,
    InvalidSegment = "invalid_segment" => BAD_REQUEST,
    SegmentNotFound = "segment_not_found" => NOT_FOUND,
    SegmentInUse = "segment_in_use" => CONFLICT,
    // Pushes
    InvalidPush = "invalid_push" => BAD_REQUEST,
    TemplateMarketing = "template_marketing" => UNPROCESSABLE_ENTITY,
    PushNotFound = "push_not_found" => NOT_FOUND,
    PushNotEditable = "push_not_editable" => CONFLICT,
    SegmentEmpty = "segment_empty" => CONFLICT,
    QuietHours = "quiet_hours" => CONFLICT,
    InvalidConsent = "invalid_consent" => BAD_REQUEST,
    JourneyNotFound = "journey_not_found" => NOT_FOUND,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// In the OpenAPI document: a string, one of every code (clients check their message table against it).
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|code| code.as_str())))
            .description(Some("The stable error code; each has one HTTP status."))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// The JSON path of the offending field, for body validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

pub struct AppError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
    source: Option<anyhow::Error>,
}

impl AppError {
    /// An error answered with `code`'s status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
            source: None,
        }
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut error = Self::new(ErrorCode::RateLimited, "too many requests, try again later");
        error.retry_after_secs = Some(retry_after_secs.max(1));
        error
    }

    /// A failure the client cannot fix: logged with its cause chain, answered with an opaque 500; or, when the
    /// cause is the database or the store not answering, a 503 the client may retry.
    pub fn unexpected(source: impl Into<anyhow::Error>) -> Self {
        let source = source.into();
        if is_outage(&source) {
            return Self::unavailable(source);
        }
        Self::new(ErrorCode::InternalError, "internal error").with_source(source)
    }

    /// The store or the database did not answer in time: retry shortly.
    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        let mut error = Self::new(
            ErrorCode::ServiceUnavailable,
            "service temporarily unavailable",
        )
        .with_source(source);
        error.retry_after_secs = Some(1);
        error
    }

    /// The database or the store did not answer (a 503 to retry), as opposed to a request or code fault.
    pub fn is_unavailable(&self) -> bool {
        self.code == ErrorCode::ServiceUnavailable
    }

    /// Counters this request needs are being rebuilt from the database by another instance: retry shortly.
    pub fn store_rebuilding() -> Self {
        let mut error = Self::new(
            ErrorCode::StoreRebuilding,
            "counters are being rebuilt, try again in a moment",
        );
        error.retry_after_secs = Some(1);
        error
    }

    /// Keeps `source` for the log (5xx only); the body still says only `message`.
    pub fn with_source(mut self, source: impl Into<anyhow::Error>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code,
            message: self.message.clone(),
            field: self.field.clone(),
        }
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )?;
        if let Some(source) = &self.source {
            write!(f, ": {source:?}")?;
        }
        Ok(())
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status.is_server_error() {
            // `{:?}` of anyhow prints the whole cause chain.
            tracing::error!(code = self.code.as_str(), cause = ?self.source, "request failed");
        }
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        response.json(self.body())
    }
}

/// Whether `error` comes from a database or store that did not answer (down, unreachable, pool exhausted), as
/// opposed to a bug or bad data.
fn is_outage(error: &anyhow::Error) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr, RuntimeErr};
    // sqlx's error is held in the DbErr without being its `source`, so it is looked at here, not in the chain.
    let lost = |e: &Sqlx| matches!(e, Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed);
    error.chain().any(|cause| {
        let database = match cause.downcast_ref::<DbErr>() {
            Some(DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) => true,
            Some(
                DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)),
            ) => lost(e),
            _ => false,
        };
        database
            || matches!(
                cause.downcast_ref::<StoreError>(),
                Some(StoreError::Unavailable(_))
            )
    })
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => AppError::unavailable(error),
            StoreError::Protocol(_) => AppError::unexpected(error),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        AppError::unexpected(error)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn an_unreachable_database_or_store_is_a_503_to_retry_not_a_500() {
        let acquire = sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
        let wrapped = anyhow::Error::new(acquire).context("recording a draw");
        let error = AppError::unexpected(wrapped);
        assert_eq!(
            (error.status.as_u16(), error.code),
            (503, ErrorCode::ServiceUnavailable)
        );
        assert_eq!(error.retry_after_secs, Some(1));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let mid_query = sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(
            sea_orm::sqlx::Error::Io(io),
        )));
        assert_eq!(AppError::unexpected(mid_query).status.as_u16(), 503);
        let store = StoreError::Unavailable(anyhow::anyhow!("timed out"));
        assert_eq!(AppError::unexpected(store).status.as_u16(), 503);
        let bug = AppError::unexpected(sea_orm::DbErr::Custom("bad row".into()));
        assert_eq!(
            (bug.status.as_u16(), bug.code),
            (500, ErrorCode::InternalError)
        );
    }

    #[test]
    fn every_code_is_unique_snake_case_with_an_error_status() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn the_body_is_code_message_and_field_only_when_set() {
        let body = serde_json::to_value(
            AppError::new(ErrorCode::InvalidField, "count: expected a number")
                .with_field("count")
                .body(),
        )
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "code": "invalid_field", "message": "count: expected a number", "field": "count" })
        );
        let body =
            serde_json::to_value(AppError::new(ErrorCode::NoChance, "none left").body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "code": "no_chance", "message": "none left" })
        );
        let opaque = AppError::unexpected(anyhow::anyhow!("secret detail"));
        assert_eq!(opaque.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!serde_json::to_string(&opaque.body())
            .unwrap()
            .contains("secret"));
    }
}
