//! Who made a change: a staff account (with the request) or a command run on a server.

/// Who performed a staff write.
#[derive(Debug, Clone)]
pub struct Actor {
    pub staff_id: Option<i64>,
    /// The staff username, or `cli` for commands run on a server.
    pub label: String,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn cli() -> Self {
        Self {
            staff_id: None,
            label: "cli".into(),
            request_id: None,
        }
    }
}
