//! Posters' public service functions, for the routes.

pub use super::make::{make_poster, PosterMaker};
pub use super::model::{PosterConfig, PosterError, QrKind};
pub use super::view::{poster, poster_image, PosterView};
