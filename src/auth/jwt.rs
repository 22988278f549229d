//! HS256 tokens with issuer, audience and expiry checked on every request. Only HS256 is accepted, so a token
//! claiming `alg: none` or another algorithm is refused before its signature is even looked at.

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{AuthError, Role};
use crate::config::AuthSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Customer,
    Staff,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id (customers) or staff account id (staff).
    pub sub: String,
    pub kind: TokenKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    pub token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

/// Never the token itself, should one ever be logged with `?`.
impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"***")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    customer_ttl: Duration,
    staff_ttl: Duration,
}

impl JwtKeys {
    pub fn new(settings: &AuthSettings) -> Self {
        let secret = settings.jwt_secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = settings.leeway_secs;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            customer_ttl: Duration::from_secs(settings.customer_token_ttl_secs),
            staff_ttl: Duration::from_secs(settings.staff_token_ttl_secs),
        }
    }

    pub fn issue_customer(&self, user_id: i64) -> Result<IssuedToken, AuthError> {
        self.issue(user_id, TokenKind::Customer, None, self.customer_ttl)
    }

    pub fn issue_staff(&self, staff_id: i64, role: Role) -> Result<IssuedToken, AuthError> {
        self.issue(staff_id, TokenKind::Staff, Some(role), self.staff_ttl)
    }

    fn issue(
        &self,
        id: i64,
        kind: TokenKind,
        role: Option<Role>,
        ttl: Duration,
    ) -> Result<IssuedToken, AuthError> {
        let now = Utc::now().timestamp();
        let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: id.to_string(),
            kind,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now.saturating_add(ttl_secs),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Unexpected(e.into()))?;
        Ok(IssuedToken {
            token,
            token_type: "Bearer",
            expires_in: ttl.as_secs(),
        })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AuthError::InvalidToken)
    }
}
