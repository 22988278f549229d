//! Segments: who a push reaches, as a rule over customer attributes, labels and events
//! (`tier = "dormant" and did(content_view, category = "mortgage", days = 30)`), saved by community managers.
//! Membership is computed by the database from the rule whenever it is asked, a page of ids at a time, never
//! by loading customers here.

pub mod compile;
pub mod model;
pub mod routes;
pub mod rule;
pub mod saved;

pub use compile::RuleContext;
pub use model::{Preview, SegmentError, SegmentInput, SegmentView};
pub use saved::{count_members, member_ids, preview_rule, preview_segment};
