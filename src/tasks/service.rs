//! Tasks' public service functions, for the routes, the scheduler and the calendar import.

pub use super::check_in::{check_in, CheckIn};
pub use super::content::{open_content, read_content, ContentOpened, ContentRead};
pub use super::forms::{submit_form, FormSaved};
pub use super::model::{
    tasks_of, FieldKind, FormField, PlanConfig, References, TaskActivityConfig, TaskError,
    TaskKind, TaskSpec, Tip,
};
pub use super::reminders::{plan_finished, plan_reminders, PlanReminder};
pub use super::settle::{settle_pending, settle_user, Settled, TaskPaid};
pub use super::uploads::{
    decide, image_of, queue, upload_image, Decision, QueueQuery, UploadView, MAX_UPLOAD_BYTES,
};
pub use super::view::{task_board, ActivityView, CheckInSummary, TaskBoard, TaskView};
