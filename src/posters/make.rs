//! Making a poster: the customer's text passes WeChat's content check first, then the card is drawn once per
//! content and kept; making one may pay the activity's reward, once a day (never the share).

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, SqlErr};
use sha2::{Digest, Sha256};

use super::model::{PosterConfig, PosterError, QrKind, MAX_TEXT_CHARS};
use super::render::render;
use super::view::{view_of, PosterView};
use crate::calendar::{day_key, new_share_code, read_config, ActivityKind};
use crate::campaigns::gate::{self, Scope};
use crate::entities::{poster_images, posters};
use crate::rewards::Rewards;
use crate::state::Context;
use crate::wechat::client::WeChatClient;

/// WeChat's content check scene for text a customer writes about themselves (1: 资料).
const CONTENT_SCENE: u8 = 1;

/// What making a poster needs beyond the context: WeChat (the content check, the invite QR) and this site's
/// public address (the share page the QR code can carry).
pub struct PosterMaker<'a> {
    pub wechat: &'a WeChatClient,
    pub base_url: &'a str,
}

pub async fn make_poster(
    cx: Context<'_>,
    maker: &PosterMaker<'_>,
    user_id: i64,
    campaign_slug: &str,
    activity_slug: &str,
    text: &str,
    request_key: &str,
) -> Result<PosterView, PosterError> {
    let Context { db, store, now } = cx;
    if let Some(made) = by_request(db, user_id, request_key).await? {
        return view_of(db, made, None).await;
    }
    let admitted = gate::admit(
        db,
        store,
        campaign_slug,
        Scope::Activity(activity_slug, ActivityKind::Poster),
        now,
    )
    .await?;
    let activity = admitted.activity.ok_or(PosterError::NotAPosterActivity)?;
    let config = read_config::<PosterConfig>(&activity.config)
        .map_err(|e| PosterError::Misconfigured(format!("{}: {e}", activity.slug)))?;
    let text = text.trim();
    let length = text.chars().count();
    if length == 0 || length > MAX_TEXT_CHARS || text.chars().any(char::is_control) {
        return Err(PosterError::InvalidText);
    }
    let openid = crate::users::service::openids(db, user_id)
        .await
        .map_err(|e| PosterError::Unexpected(e.into()))?
        .mini_program
        .ok_or(PosterError::ContentUnchecked)?;
    if maker
        .wechat
        .msg_sec_check(&openid, CONTENT_SCENE, text)
        .await?
        != "pass"
    {
        return Err(PosterError::ContentRejected);
    }
    let code = new_share_code();
    let qr = match config.qr {
        QrKind::Page => format!("{}/h5/posters/{code}", maker.base_url.trim_end_matches('/')),
        QrKind::OfficialAccount => {
            crate::referrals::service::invite_qr(cx, maker.wechat, user_id)
                .await?
                .url
        }
    };
    let content_hash = content_hash(&config, text, &qr);
    let drawn = poster_images::Entity::find_by_id(content_hash.clone())
        .one(db)
        .await?
        .is_some();
    if !drawn {
        // Drawing takes tens of milliseconds of CPU: off the request threads.
        let (template, words, content) = (config.clone(), text.to_owned(), qr.clone());
        let png = tokio::task::spawn_blocking(move || render(&template, &words, &content))
            .await
            .map_err(|e| PosterError::Unexpected(e.into()))??;
        poster_images::Entity::insert(poster_images::ActiveModel {
            content_hash: Set(content_hash.clone()),
            png: Set(png),
            created_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(poster_images::Column::ContentHash)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    let txn = crate::db::begin_write(db).await?;
    let made = posters::ActiveModel {
        code: Set(code),
        user_id: Set(user_id),
        campaign_id: Set(admitted.campaign.id),
        activity_id: Set(activity.id),
        text: Set(text.to_owned()),
        content_hash: Set(content_hash),
        request_key: Set(request_key.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let made = match made {
        Ok(made) => made,
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            txn.rollback().await?;
            let made = by_request(db, user_id, request_key)
                .await?
                .ok_or(PosterError::NotFound)?;
            return view_of(db, made, None).await;
        }
        Err(error) => return Err(error.into()),
    };
    crate::outbox::record(
        &txn,
        &crate::outbox::Event {
            user_id,
            kind: crate::outbox::EventKind::PosterMade,
            source_ref: &format!("poster:{}", made.id),
            campaign_id: Some(admitted.campaign.id),
            activity_id: Some(activity.id),
            subject: None,
            at: now,
        },
    )
    .await?;
    let mut rewards = Rewards::new(now);
    let paid = match &config.reward {
        Some(reward) => {
            let source_ref = format!("poster:{}:{user_id}:{}", activity.id, day_key(now));
            let paid = rewards
                .pay(
                    &txn,
                    user_id,
                    &source_ref,
                    reward,
                    &admitted.campaign,
                    "poster_made",
                )
                .await?;
            Some(paid)
        }
        None => None,
    };
    txn.commit().await?;
    rewards.after_commit(store).await;
    view_of(db, made, paid).await
}

async fn by_request(
    db: &sea_orm::DatabaseConnection,
    user_id: i64,
    request_key: &str,
) -> Result<Option<posters::Model>, sea_orm::DbErr> {
    posters::Entity::find()
        .filter(posters::Column::UserId.eq(user_id))
        .filter(posters::Column::RequestKey.eq(request_key))
        .one(db)
        .await
}

/// What the image is made of, hashed: the same card, whoever makes it, is drawn once.
fn content_hash(config: &PosterConfig, text: &str, qr: &str) -> String {
    let template = serde_json::to_string(config).unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [template.as_str(), text, qr] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}
