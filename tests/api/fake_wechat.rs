//! The fake WeChat API: the only fake in the suite. Tests mount the responses they need and assert what we sent.

use wiremock::MockServer;

pub struct FakeWeChat {
    pub server: MockServer,
}

impl FakeWeChat {
    pub async fn start() -> Self {
        Self {
            server: MockServer::start().await,
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }
}
