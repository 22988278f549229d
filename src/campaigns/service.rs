//! The campaigns' service functions, gathered from their use-case files for the routes, the CLI and jobs.

pub use super::listing::{
    calendar, detail, list, public_detail, PublicCampaign, PublicCampaignDetail,
};
pub use super::model::{ActivityView, CampaignError, CampaignView};
pub use super::pause::{set_paused, sync_pause_flags};
