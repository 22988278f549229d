//! The fake WeChat API: the only fake in the suite. Tests mount the answers they need and count what we sent.

use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

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

    /// `POST /cgi-bin/stable_token` answers `token`, valid for two hours.
    pub async fn issues_token(&self, token: &str) {
        Mock::given(method("POST"))
            .and(path("/cgi-bin/stable_token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "access_token": token, "expires_in": 7200 })),
            )
            .mount(&self.server)
            .await;
    }

    /// `cgi-bin/user/info` answers each follower's unionid as given (`None`: the account has no open platform
    /// binding), and no unionid for any other follower.
    pub async fn knows_followers(&self, followers: &[(&str, Option<&str>)]) {
        for (openid, unionid) in followers {
            let mut body = json!({ "subscribe": 1, "openid": openid });
            if let Some(unionid) = unionid {
                body["unionid"] = json!(unionid);
            }
            Mock::given(method("GET"))
                .and(path("/cgi-bin/user/info"))
                .and(query_param("openid", *openid))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .with_priority(1)
                .mount(&self.server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path("/cgi-bin/user/info"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "subscribe": 1 })))
            .with_priority(10)
            .mount(&self.server)
            .await;
    }

    /// Any request to `route` (method, path) answers `body`.
    pub async fn answers(&self, http_method: &str, route: &str, body: Value) {
        Mock::given(method(http_method))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    /// How many requests reached `route`.
    pub async fn calls(&self, route: &str) -> usize {
        self.requests(route).await.len()
    }

    pub async fn requests(&self, route: &str) -> Vec<wiremock::Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == route)
            .collect()
    }
}
