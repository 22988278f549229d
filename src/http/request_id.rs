use actix_web::http::header::HeaderValue;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request: the caller's `X-Request-Id` when it is sane, else a fresh one. It is echoed in
/// the response, attached to every log line of the request, and stored with audit entries.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn from_header(value: Option<&HeaderValue>) -> Self {
        let given = value.and_then(|v| v.to_str().ok()).filter(|v| {
            (1..=64).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
        match given {
            Some(id) => Self(id.to_owned()),
            None => Self(uuid::Uuid::new_v4().to_string()),
        }
    }
}
