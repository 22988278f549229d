//! Staff accounts: argon2id password hashes, login, and audited creation.

use std::sync::OnceLock;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::auth::{AuthError, IssuedToken, JwtKeys, Role};
use crate::entities::staff_accounts;

pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_USERNAME_LEN: usize = 64;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffView {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: chrono::DateTime<Utc>,
    pub last_login_at: Option<chrono::DateTime<Utc>>,
}

impl StaffView {
    pub fn from_model(model: &staff_accounts::Model) -> Result<Self, AuthError> {
        let role = Role::parse(&model.role).ok_or_else(|| {
            AuthError::Unexpected(anyhow::anyhow!(
                "staff account {} has unknown role {}",
                model.id,
                model.role
            ))
        })?;
        Ok(Self {
            id: model.id,
            username: model.username.clone(),
            role,
            disabled: model.disabled,
            created_at: model.created_at,
            last_login_at: model.last_login_at,
        })
    }
}

pub struct NewStaff {
    pub username: String,
    pub role: Role,
    pub password: secrecy::SecretString,
}

fn validate_username(username: &str) -> Result<(), AuthError> {
    let ok = (3..=MAX_USERNAME_LEN).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::InvalidInput(
            "username: 3-64 characters of a-z, 0-9, '.', '_' or '-'".into(),
        ))
    }
}

/// Hashing is deliberately slow: it runs on the blocking pool, never on a request thread.
async fn hash_password(password: secrecy::SecretString) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || {
        use secrecy::ExposeSecret;
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
    .map_err(|e| AuthError::Unexpected(e.into()))?
    .map_err(AuthError::Unexpected)
}

async fn verify_password(password: secrecy::SecretString, hash: String) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || {
        use secrecy::ExposeSecret;
        let parsed = PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        Ok(Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| AuthError::Unexpected(e.into()))?
}

/// A real hash to verify against when the username is unknown, so that a miss costs as long as a hit and
/// response times do not reveal which usernames exist.
fn decoy_hash() -> String {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(uuid::Uuid::new_v4().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .unwrap_or_default()
        })
        .clone()
}

pub async fn create_staff(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewStaff,
) -> Result<StaffView, AuthError> {
    use secrecy::ExposeSecret;
    validate_username(&new.username)?;
    if new.password.expose_secret().chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::InvalidInput(format!(
            "password: at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    let password_hash = hash_password(new.password).await?;
    let txn = crate::db::begin_write(db).await?;
    if find_by_username(&txn, &new.username).await?.is_some() {
        return Err(AuthError::UsernameTaken);
    }
    let inserted = staff_accounts::ActiveModel {
        username: Set(new.username.clone()),
        password_hash: Set(password_hash),
        role: Set(new.role.as_str().to_owned()),
        disabled: Set(false),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    // Two creations raced past the check above: the unique index decides.
    .map_err(|e| match find_unique_violation(&e) {
        true => AuthError::UsernameTaken,
        false => e.into(),
    })?;
    let view = StaffView::from_model(&inserted)?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new("staff.create", "staff_account", inserted.id.to_string()).after(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

fn find_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

async fn find_by_username(
    conn: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<staff_accounts::Model>, AuthError> {
    Ok(staff_accounts::Entity::find()
        .filter(staff_accounts::Column::Username.eq(username))
        .one(conn)
        .await?)
}

pub async fn list_staff(db: &DatabaseConnection) -> Result<Vec<StaffView>, AuthError> {
    staff_accounts::Entity::find()
        .order_by_asc(staff_accounts::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(StaffView::from_model)
        .collect()
}

pub async fn login(
    db: &DatabaseConnection,
    jwt: &JwtKeys,
    username: &str,
    password: secrecy::SecretString,
) -> Result<(IssuedToken, StaffView), AuthError> {
    let account = find_by_username(db, username).await?;
    let hash = account
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(decoy_hash);
    let password_ok = verify_password(password, hash).await?;
    let account = match account {
        Some(account) if password_ok && !account.disabled => account,
        _ => return Err(AuthError::InvalidCredentials),
    };
    let view = StaffView::from_model(&account)?;
    let mut active: staff_accounts::ActiveModel = account.into();
    active.last_login_at = Set(Some(Utc::now()));
    active.update(db).await?;
    let token = jwt.issue_staff(view.id, view.role)?;
    Ok((token, view))
}
