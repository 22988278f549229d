use crate::error::{AppError, ErrorCode};

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
            AuthError::MissingToken => AppError::new(ErrorCode::MissingToken, message),
            AuthError::InvalidToken => AppError::new(ErrorCode::InvalidToken, message),
            AuthError::AccountDisabled => AppError::new(ErrorCode::AccountDisabled, message),
            AuthError::WrongAccountKind | AuthError::MissingRole { .. } => {
                AppError::new(ErrorCode::Forbidden, message)
            }
            AuthError::InvalidCredentials => AppError::new(ErrorCode::InvalidCredentials, message),
            AuthError::DevLoginDisabled => AppError::new(ErrorCode::NotFound, "no such route"),
            AuthError::InvalidInput(_) => AppError::new(ErrorCode::InvalidInput, message),
            AuthError::UsernameTaken => AppError::new(ErrorCode::UsernameTaken, message),
            AuthError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

impl From<sea_orm::DbErr> for AuthError {
    fn from(error: sea_orm::DbErr) -> Self {
        AuthError::Unexpected(error.into())
    }
}
