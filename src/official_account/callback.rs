//! The official-account callback (WECHAT.md section 1): signature checks, a timestamp window, a nonce guard,
//! decryption with the current or previous key, message dedupe, dispatch, and the (encrypted) reply.
//! Everything that can refuse a request does so before anything is written.

use std::time::Duration;

use chrono::Utc;
use rand::distr::{Alphanumeric, SampleString};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::inbox::{InboxWriter, Recorded};
use crate::config::{CallbackMode, OfficialAccountSettings};
use crate::error::{AppError, ErrorCode};
use crate::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::state::AppState;
use crate::store::IdempotencyBegin;
use crate::wechat::crypto::{sha1_signature, signatures_match, CryptoError, MessageCipher};
use crate::wechat::message::{encrypted_envelope, Inbound, MessageError};
use crate::wechat::xml::{self, XmlError};

/// How long a processed message's reply is kept for WeChat's retries (they come within ~15 s).
const REPLY_RETENTION: Duration = Duration::from_secs(600);

/// The account's callback secrets, ready to use.
pub struct OfficialAccount {
    pub app_id: String,
    token: SecretString,
    current: MessageCipher,
    previous: Option<MessageCipher>,
    pub mode: CallbackMode,
    window_secs: i64,
    pub body_limit: usize,
}

impl OfficialAccount {
    pub fn from_settings(settings: &OfficialAccountSettings) -> Result<Self, CryptoError> {
        let previous = settings.previous_encoding_aes_key.expose_secret();
        Ok(Self {
            app_id: settings.app_id.clone(),
            token: settings.token.clone(),
            current: MessageCipher::from_encoding_aes_key(
                settings.encoding_aes_key.expose_secret(),
            )?,
            previous: match previous.is_empty() {
                true => None,
                false => Some(MessageCipher::from_encoding_aes_key(previous)?),
            },
            mode: settings.callback_mode,
            window_secs: i64::try_from(settings.callback_timestamp_window_secs).unwrap_or(300),
            body_limit: settings.callback_body_limit,
        })
    }

    fn token(&self) -> &str {
        self.token.expose_secret()
    }

    /// Decrypts with the current key, then the previous one; returns the message and the key that worked.
    fn decrypt(&self, encrypted: &str) -> Result<(String, &MessageCipher), CryptoError> {
        match self.current.decrypt(encrypted, &self.app_id) {
            Ok(message) => Ok((message, &self.current)),
            Err(current_error) => match &self.previous {
                Some(previous) => previous
                    .decrypt(encrypted, &self.app_id)
                    .map(|message| (message, previous))
                    .map_err(|_| current_error),
                None => Err(current_error),
            },
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub echostr: Option<String>,
    pub openid: Option<String>,
    pub encrypt_type: Option<String>,
    pub msg_signature: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("signature, timestamp and nonce are required")]
    MissingParameters,
    #[error("echostr must be 1-128 letters or digits")]
    InvalidEchostr,
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp is outside the accepted window")]
    StaleTimestamp,
    #[error("this nonce was already used for another message")]
    ReplayedNonce,
    #[error("this account accepts only encrypted messages")]
    EncryptionRequired,
    #[error("body is not UTF-8")]
    NotUtf8,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl CallbackError {
    /// The sender's fault (as opposed to ours): what a per-address refusal budget counts.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, CallbackError::Unexpected(_))
    }
}

impl From<XmlError> for CallbackError {
    fn from(error: XmlError) -> Self {
        CallbackError::Message(MessageError::Xml(error))
    }
}

impl From<CallbackError> for AppError {
    fn from(error: CallbackError) -> Self {
        let message = error.to_string();
        let code = match &error {
            CallbackError::MissingParameters => ErrorCode::MissingParameters,
            CallbackError::InvalidEchostr => ErrorCode::InvalidEchostr,
            CallbackError::BadSignature => ErrorCode::InvalidSignature,
            CallbackError::StaleTimestamp => ErrorCode::StaleTimestamp,
            CallbackError::ReplayedNonce => ErrorCode::ReplayedNonce,
            CallbackError::EncryptionRequired => ErrorCode::EncryptionRequired,
            CallbackError::NotUtf8 => ErrorCode::MalformedXml,
            CallbackError::Crypto(CryptoError::AppIdMismatch) => ErrorCode::AppidMismatch,
            CallbackError::Crypto(_) => ErrorCode::DecryptFailed,
            CallbackError::Message(MessageError::Xml(XmlError::Doctype)) => {
                ErrorCode::DoctypeForbidden
            }
            CallbackError::Message(MessageError::Xml(_)) => ErrorCode::MalformedXml,
            CallbackError::Message(_) => ErrorCode::InvalidMessage,
            CallbackError::Unexpected(_) => return AppError::unexpected(error),
        };
        tracing::warn!(code = code.as_str(), %message, "wechat callback refused");
        AppError::new(code, message)
    }
}

/// A request whose query WeChat signed (token, timestamp, nonce) within the timestamp window: checked before the
/// body is read, so junk costs one SHA-1 and nothing else.
pub struct SignedQuery<'a> {
    query: &'a CallbackQuery,
    timestamp: &'a str,
    nonce: &'a str,
}

/// `abs_diff` cannot overflow, whatever the sender put in the timestamp.
fn check_window(account: &OfficialAccount, timestamp: &str, now: i64) -> Result<(), CallbackError> {
    let sent: i64 = timestamp
        .parse()
        .map_err(|_| CallbackError::StaleTimestamp)?;
    if now.abs_diff(sent) > account.window_secs.unsigned_abs() {
        return Err(CallbackError::StaleTimestamp);
    }
    Ok(())
}

/// The query's `signature` (sent in every mode, encrypted ones too) and its timestamp window.
pub fn verify_query<'a>(
    account: &OfficialAccount,
    query: &'a CallbackQuery,
    now: i64,
) -> Result<SignedQuery<'a>, CallbackError> {
    let (Some(signature), Some(timestamp), Some(nonce)) =
        (&query.signature, &query.timestamp, &query.nonce)
    else {
        return Err(CallbackError::MissingParameters);
    };
    let expected = sha1_signature(&[account.token(), timestamp, nonce]);
    if !signatures_match(&expected, signature) {
        return Err(CallbackError::BadSignature);
    }
    check_window(account, timestamp, now)?;
    Ok(SignedQuery {
        query,
        timestamp,
        nonce,
    })
}

/// GET: WeChat checks that we hold the token; we answer with its `echostr`. The timestamp window applies here
/// too, so a captured verification URL cannot be replayed later with another `echostr`.
pub fn verify_url(signed: &SignedQuery<'_>) -> Result<String, CallbackError> {
    let echostr = signed
        .query
        .echostr
        .as_deref()
        .ok_or(CallbackError::MissingParameters)?;
    // WeChat's echostr is a random number; anything else is not reflected back.
    let plain =
        (1..=128).contains(&echostr.len()) && echostr.chars().all(|c| c.is_ascii_alphanumeric());
    if !plain {
        return Err(CallbackError::InvalidEchostr);
    }
    Ok(echostr.to_owned())
}

/// What to send back to WeChat.
#[derive(Debug)]
pub struct CallbackReply {
    pub body: String,
    pub content_type: &'static str,
}

impl CallbackReply {
    fn success() -> Self {
        Self {
            body: "success".into(),
            content_type: "text/plain; charset=utf-8",
        }
    }
}

/// POST: one message or event.
pub async fn handle_message(
    state: &AppState,
    inbox: &InboxWriter,
    account: &OfficialAccount,
    signed: &SignedQuery<'_>,
    body: &[u8],
) -> Result<CallbackReply, CallbackError> {
    let query = signed.query;
    let body = std::str::from_utf8(body).map_err(|_| CallbackError::NotUtf8)?;
    let encrypted = query.encrypt_type.as_deref() == Some("aes");

    let (plaintext, cipher) = if encrypted {
        let envelope = xml::parse(body)?;
        let encrypt = envelope
            .text_of("Encrypt")
            .ok_or(MessageError::Missing("Encrypt"))?;
        let msg_signature = query
            .msg_signature
            .as_deref()
            .ok_or(CallbackError::MissingParameters)?;
        let expected = sha1_signature(&[account.token(), signed.timestamp, signed.nonce, &encrypt]);
        if !signatures_match(&expected, msg_signature) {
            return Err(CallbackError::BadSignature);
        }
        let (message, cipher) = account.decrypt(&encrypt)?;
        (message, Some(cipher))
    } else {
        if account.mode == CallbackMode::Safe {
            return Err(CallbackError::EncryptionRequired);
        }
        // The query signature, already checked, is all that signs a plain message.
        (body.to_owned(), None)
    };
    let raw = xml::parse(&plaintext)?;
    let inbound = Inbound::from_element(&raw)?;

    guard_nonce(state, account, signed, body).await?;

    let dedupe_key = idempotency::fingerprint(&[inbound.dedupe_key(&raw).as_bytes()]);
    let key = IdempotencyKey::parse(&dedupe_key).map_err(|e| anyhow::anyhow!("{e}"))?;
    let outcome = idempotency::run_once_keeping(
        state.store.as_ref(),
        "wechat_msg",
        &key,
        &dedupe_key,
        REPLY_RETENTION,
        || record_and_dispatch(inbox, &inbound, &dedupe_key),
    )
    .await
    .map_err(|e| CallbackError::Unexpected(anyhow::anyhow!("{e:?}")))?;

    let Some(reply_xml) = outcome.response.body.as_str() else {
        return Ok(CallbackReply::success());
    };
    match cipher {
        None => Ok(CallbackReply {
            body: reply_xml.to_owned(),
            content_type: "application/xml; charset=utf-8",
        }),
        Some(cipher) => {
            // Replies go out under the key that read the message (the current one, or the previous during rotation).
            let encrypt = cipher.encrypt(reply_xml, &account.app_id);
            let timestamp = Utc::now().timestamp();
            let nonce = Alphanumeric.sample_string(&mut rand::rng(), 16);
            let signature =
                sha1_signature(&[account.token(), &timestamp.to_string(), &nonce, &encrypt]);
            Ok(CallbackReply {
                body: encrypted_envelope(&encrypt, &signature, timestamp, &nonce),
                content_type: "application/xml; charset=utf-8",
            })
        }
    }
}

/// A signature does not cover a plain body, so a captured (timestamp, nonce, signature) could carry another
/// body. Each nonce is bound to the first body it came with: the same body again is a retry (answered from the
/// message dedupe), another body is a replay and refused.
async fn guard_nonce(
    state: &AppState,
    account: &OfficialAccount,
    signed: &SignedQuery<'_>,
    body: &str,
) -> Result<(), CallbackError> {
    let key = format!("wechat_nonce:{}:{}", signed.timestamp, signed.nonce);
    let body_hash = idempotency::fingerprint(&[body.as_bytes()]);
    let remember = Duration::from_secs(u64::try_from(account.window_secs * 2).unwrap_or(600));
    match state
        .store
        .idempotency_begin(&key, &body_hash, remember)
        .await
        .map_err(|e| CallbackError::Unexpected(e.into()))?
    {
        IdempotencyBegin::Mismatch => Err(CallbackError::ReplayedNonce),
        _ => Ok(()),
    }
}

/// The side effects of one message, committed before we answer: the inbox row and the handlers' writes, in the
/// inbox writer's next batch.
async fn record_and_dispatch(
    inbox: &InboxWriter,
    inbound: &Inbound,
    dedupe_key: &str,
) -> Result<StoredResponse, AppError> {
    match inbox.record(inbound.clone(), dedupe_key.to_owned()).await? {
        Recorded::Duplicate => StoredResponse::ok(serde_json::Value::Null),
        Recorded::New(answer) => {
            let reply = answer.map(|a| {
                a.reply
                    .to_xml(&inbound.from_user, &inbound.to_user, Utc::now().timestamp())
            });
            StoredResponse::ok(reply)
        }
    }
}
