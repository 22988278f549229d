//! Customer logins through WeChat: the mini-program's `wx.login` code and its `getPhoneNumber` code. The
//! session_key WeChat hands us never leaves the server.

use std::time::Duration;

use super::phone::PhoneCipher;
use crate::auth::{IssuedToken, JwtKeys};
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;
use crate::users::service::{self, Channel, UserProfile};
use crate::wechat::client::{App, WeChatError};

/// How long a mini-program session_key is kept (WeChat renews it at each `wx.login`).
const SESSION_KEY_TTL: Duration = Duration::from_secs(2 * 24 * 3600);

/// A WeChat login or phone code: checked before it is sent anywhere.
pub fn validate_code(code: &str) -> Result<(), AppError> {
    let ok = (1..=128).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(
            AppError::new(ErrorCode::InvalidCode, "code is missing or malformed")
                .with_field("code"),
        )
    }
}

/// WeChat's answers about a user-supplied code, as our stable codes.
fn code_error(error: WeChatError) -> AppError {
    match error.errcode() {
        Some(40029 | 40163 | 40125) => AppError::new(
            ErrorCode::InvalidCode,
            "the code is invalid, expired or already used",
        ),
        Some(45011) => AppError::too_many_requests(60),
        Some(40226) => AppError::new(
            ErrorCode::RiskyUser,
            "WeChat flagged this account; login refused",
        ),
        _ => error.into(),
    }
}

/// `wx.login` code -> jscode2session -> the user (linked by unionid when present) -> our token.
pub async fn mini_program_login(
    state: &AppState,
    jwt: &JwtKeys,
    code: &str,
) -> Result<(IssuedToken, UserProfile), AppError> {
    validate_code(code)?;
    let session = state
        .wechat
        .code_to_session(code)
        .await
        .map_err(code_error)?;
    let user = service::link_user(
        &state.db,
        Channel::MiniProgram,
        &session.openid,
        session.unionid.as_deref(),
        state.context().now,
    )
    .await?;
    state
        .store
        .put_credential(
            &format!("mp_session_key:{}", user.id),
            &session.session_key,
            SESSION_KEY_TTL,
        )
        .await?;
    let token = jwt.issue_customer(user.id)?;
    Ok((token, user))
}

/// `getPhoneNumber` code -> the number, accepted only if WeChat's watermark names our mini-program.
pub async fn bind_phone(
    state: &AppState,
    phone_cipher: &PhoneCipher,
    user_id: i64,
    code: &str,
) -> Result<UserProfile, AppError> {
    validate_code(code)?;
    let info = state.wechat.phone_number(code).await.map_err(code_error)?;
    if info.watermark.appid != state.wechat.app_id(App::MiniProgram) {
        tracing::warn!(user_id, "phone number watermark names another appid");
        return Err(AppError::new(
            ErrorCode::WatermarkMismatch,
            "the phone number was issued to another app",
        ));
    }
    if !(7..=20).contains(&info.pure_phone_number.len())
        || !info.pure_phone_number.chars().all(|c| c.is_ascii_digit())
    {
        return Err(AppError::new(
            ErrorCode::WechatBadResponse,
            "WeChat sent an unreadable phone number",
        ));
    }
    Ok(service::set_phone(
        &state.db,
        phone_cipher,
        user_id,
        &info.pure_phone_number,
        state.context().now,
    )
    .await?)
}
