//! What a poster's share page shows, and its image.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;

use super::model::PosterError;
use crate::calendar::is_share_code;
use crate::entities::{poster_images, posters};
use crate::rewards::Paid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PosterView {
    pub code: String,
    pub campaign: String,
    pub activity: String,
    pub activity_name: String,
    pub text: String,
    /// The PNG.
    pub image_url: String,
    /// The H5 share page.
    pub page_url: String,
    pub created_at: DateTime<Utc>,
    /// What making it paid (only in the maker's answer; `null` when the activity pays nothing or paid today).
    pub reward: Option<Paid>,
}

pub(super) async fn view_of(
    db: &DatabaseConnection,
    poster: posters::Model,
    reward: Option<Paid>,
) -> Result<PosterView, PosterError> {
    let campaign = crate::campaigns::gate::find_campaign_by_id(db, poster.campaign_id)
        .await?
        .ok_or(PosterError::NotFound)?;
    let activity = crate::campaigns::gate::find_activity(db, poster.activity_id)
        .await?
        .ok_or(PosterError::NotFound)?;
    Ok(PosterView {
        image_url: format!("/api/v1/posters/{}/image", poster.code),
        page_url: format!("/h5/posters/{}", poster.code),
        code: poster.code,
        campaign: campaign.slug,
        activity: activity.slug,
        activity_name: activity.name,
        text: poster.text,
        created_at: poster.created_at,
        reward: reward.filter(|paid| *paid != Paid::default()),
    })
}

async fn by_code(db: &DatabaseConnection, code: &str) -> Result<posters::Model, PosterError> {
    if !is_share_code(code) {
        return Err(PosterError::NotFound);
    }
    posters::Entity::find()
        .filter(posters::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or(PosterError::NotFound)
}

/// A poster, for its share page: anyone may look.
pub async fn poster(db: &DatabaseConnection, code: &str) -> Result<PosterView, PosterError> {
    view_of(db, by_code(db, code).await?, None).await
}

/// A poster's PNG and its content hash (its ETag).
pub async fn poster_image(
    db: &DatabaseConnection,
    code: &str,
) -> Result<(String, Vec<u8>), PosterError> {
    let poster = by_code(db, code).await?;
    let image = poster_images::Entity::find_by_id(poster.content_hash)
        .one(db)
        .await?
        .ok_or(PosterError::NotFound)?;
    Ok((image.content_hash, image.png))
}
