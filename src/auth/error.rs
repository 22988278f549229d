use actix_web::http::StatusCode;

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    MissingToken,
    #[error("token is invalid or expired")]
    InvalidToken,
    #[error("this account is disabled; please contact the bank")]
    AccountDisabled,
    #[error("this route is not for this kind of account")]
    WrongAccountKind,
    #[error("role {required} is required")]
    MissingRole { required: &'static str },
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("dev login is disabled")]
    DevLoginDisabled,
    #[error("{0}")]
    InvalidInput(String),
    #[error("username is taken")]
    UsernameTaken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<AuthError> for AppError {
    fn from(error: AuthError) -> Self {
        let message = error.to_string();
        match error {
            AuthError::MissingToken => AppError::unauthorized("missing_token", message),
            AuthError::InvalidToken => AppError::unauthorized("invalid_token", message),
            AuthError::AccountDisabled => AppError::unauthorized("account_disabled", message),
            AuthError::WrongAccountKind | AuthError::MissingRole { .. } => {
                AppError::forbidden(message)
            }
            AuthError::InvalidCredentials => AppError::unauthorized("invalid_credentials", message),
            AuthError::DevLoginDisabled => {
                AppError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
            }
            AuthError::InvalidInput(_) => AppError::bad_request("invalid_input", message),
            AuthError::UsernameTaken => AppError::conflict("username_taken", message),
            AuthError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

impl From<sea_orm::DbErr> for AuthError {
    fn from(error: sea_orm::DbErr) -> Self {
        AuthError::Unexpected(error.into())
    }
}
