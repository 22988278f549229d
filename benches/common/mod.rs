//! Shared by the load scripts: firing requests with bounded concurrency and reporting throughput and latency.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};

pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub struct Run {
    label: &'static str,
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    failures: usize,
}

impl Run {
    pub fn print(&self) {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let at = |q: f64| sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)];
        println!(
            "{:<28} {:>7} req {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   failures {}",
            self.label,
            self.requests,
            self.requests as f64 / self.elapsed.as_secs_f64(),
            at(0.50).as_secs_f64() * 1000.0,
            at(0.99).as_secs_f64() * 1000.0,
            self.failures
        );
    }
}

pub async fn fire(
    label: &'static str,
    client: &reqwest::Client,
    requests: Vec<Request>,
    concurrency: usize,
) -> Run {
    let total = requests.len();
    let started = Instant::now();
    let results: Vec<(Duration, bool)> = stream::iter(requests)
        .map(|request| async move {
            let sent = Instant::now();
            let request = request.build(client);
            let ok = matches!(request.send().await, Ok(r) if r.status().is_success());
            (sent.elapsed(), ok)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    Run {
        label,
        requests: total,
        elapsed: started.elapsed(),
        failures: results.iter().filter(|(_, ok)| !ok).count(),
        latencies: results.into_iter().map(|(latency, _)| latency).collect(),
    }
}

/// One request of a load run.
#[derive(Clone)]
pub struct Request {
    pub url: String,
    /// (content type, body) for a POST; a GET without.
    pub body: Option<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
}

impl Request {
    pub fn get(url: String) -> Self {
        Self {
            url,
            body: None,
            headers: Vec::new(),
        }
    }

    fn build(self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut request = match self.body {
            Some((content_type, body)) => client
                .post(&self.url)
                .header("content-type", content_type)
                .body(body),
            None => client.get(&self.url),
        };
        for (name, value) in self.headers {
            request = request.header(name, value);
        }
        request
    }
}
