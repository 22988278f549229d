//! HTTP load generator for the benchmark scripts. It replaces wrk, which has no open-loop mode. It measures and
//! prints one JSON line on stdout; it asserts nothing.
//!
//! - Closed loop (default): `--connections` tasks, each sending its next request as soon as its previous answer
//!   arrived. Latency is answer time minus send time.
//! - Open loop (`--rate R`): request i is due at start + i/R, with at most `--connections` in flight. Latency
//!   counts from the due time, so a stalled server is charged for the requests queued behind it (no coordinated
//!   omission).
//!
//! Counted are the requests that finish (answer or error) after the warmup. At the end, the closed loop drops the
//! requests still in flight (they finish outside the measured time); the open loop waits for them (they were due
//! inside it) and counts the requests still queued as errors ("backlog").
//!
//! Requests are `--path` (all the same) or `--requests FILE`: one POST a line, `PATH<TAB>BODY`, optionally
//! followed by `<TAB>Header-Name: value` fields. The `.data` file written by `gen_messages.py` works as is.
//!
//! ```text
//! cargo bench --bench load -- --url http://127.0.0.1:8080 --path /healthz --connections 64 --duration-secs 10
//! cargo bench --bench load -- --url http://127.0.0.1:8080 --requests msgs.lua.data --rate 2000 --no-repeat
//! ```
//!
//! The open-file limit is left to the caller (`ulimit -n`): std has no `setrlimit`, and we add no dependency.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, Method, Url};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::time::{sleep_until, timeout_at, Instant};

#[derive(Parser)]
#[command(about = "HTTP load generator: closed loop, or open loop with --rate")]
struct Args {
    /// Base URL, e.g. http://127.0.0.1:8080
    #[arg(long)]
    url: String,
    /// Send this path on every request
    #[arg(
        long,
        required_unless_present = "requests",
        conflicts_with = "requests"
    )]
    path: Option<String>,
    /// Method of the --path requests
    #[arg(long, default_value = "GET")]
    method: String,
    /// POST one request a line: PATH<TAB>BODY[<TAB>Header-Name: value]...
    #[arg(long, value_name = "FILE")]
    requests: Option<PathBuf>,
    /// Content-Type of the --requests bodies
    #[arg(long, default_value = "text/xml")]
    content_type: String,
    /// Concurrent connections, and at most this many requests in flight
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Open loop at this many requests per second; closed loop without it
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long, default_value_t = 10.0)]
    duration_secs: f64,
    /// Sent but not counted, before the measured time
    #[arg(long, default_value_t = 1.0)]
    warmup_secs: f64,
    /// Per request; a request that exceeds it is an error
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// Send each line of --requests at most once, and end when they run out
    #[arg(long)]
    no_repeat: bool,
    /// Tokio worker threads
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Copied into the output
    #[arg(long, default_value = "")]
    label: String,
    /// Opens this many connections before the run and keeps each one open, and sends the --rate requests over
    /// them in turn (customers with the page open, each tapping now and then); needs --rate
    #[arg(long, value_name = "N", requires = "rate")]
    hold: Option<usize>,
    /// Samples this process and its descendants (the server under load) during the measured time: CPU and
    /// peak RSS, reported as `watched_cpu_percent` (100 = one core) and `watched_peak_rss_mb`
    #[arg(long, value_name = "PID")]
    watch_pid: Option<u32>,
    /// `cargo bench` appends --bench to the arguments; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Everything that can be built before the run, so a send only clones cheap handles.
struct PreparedRequest {
    method: Method,
    url: Url,
    headers: HeaderMap,
    /// `&'static` so that the body is sent from the file's text without a copy.
    body: Option<&'static str>,
}

/// The requests in order, shared by all connections: each is sent once before any repeats.
struct RequestList {
    requests: Vec<PreparedRequest>,
    next: AtomicUsize,
    repeat: bool,
}

impl RequestList {
    fn take(&self) -> Option<&PreparedRequest> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        if index >= self.requests.len() && !self.repeat {
            return None;
        }
        Some(&self.requests[index % self.requests.len()])
    }

    fn ran_out(&self) -> bool {
        !self.repeat && self.next.load(Ordering::Relaxed) > self.requests.len()
    }
}

enum Outcome {
    Answered(u16),
    TimedOut,
    Failed(anyhow::Error),
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    statuses: BTreeMap<u16, u64>,
    timeouts: u64,
    transport_errors: u64,
    last_finish: Option<Instant>,
}

/// What every connection task borrows; leaked, because it lives for the whole run and 'static needs no Arc.
struct Run {
    client: Client,
    list: RequestList,
    tally: Mutex<Tally>,
    start: Instant,
    measure_from: Instant,
    end: Instant,
    request_timeout: Duration,
}

impl Run {
    fn record(&self, outcome: Outcome, started: Instant, finished: Instant) {
        let mut tally = self.tally.lock().expect("tally lock");
        tally.last_finish = Some(
            tally
                .last_finish
                .map_or(finished, |last| last.max(finished)),
        );
        match outcome {
            Outcome::Answered(status) => {
                let latency = finished.duration_since(started);
                tally.latencies_us.push(latency.as_micros() as u64);
                *tally.statuses.entry(status).or_default() += 1;
            }
            Outcome::TimedOut => tally.timeouts += 1,
            Outcome::Failed(error) => {
                // The first one says why (refused, reset...); the rest would only flood stderr.
                if tally.transport_errors == 0 {
                    eprintln!("load: first transport error: {error:#}");
                }
                tally.transport_errors += 1;
            }
        }
    }
}

fn join_url(base: &str, path: &str) -> anyhow::Result<Url> {
    let joined = format!("{}{path}", base.trim_end_matches('/'));
    Url::parse(&joined).with_context(|| format!("bad URL {joined}"))
}

fn load_requests(args: &Args) -> anyhow::Result<Vec<PreparedRequest>> {
    if let Some(path) = &args.path {
        let method =
            Method::from_bytes(args.method.to_uppercase().as_bytes()).context("bad --method")?;
        let (url, headers) = (join_url(&args.url, path)?, HeaderMap::new());
        return Ok(vec![PreparedRequest {
            method,
            url,
            headers,
            body: None,
        }]);
    }
    let file = args
        .requests
        .as_ref()
        .expect("clap requires --path or --requests");
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let text: &'static str = text.leak();
    let content_type = HeaderValue::from_str(&args.content_type).context("bad --content-type")?;
    let mut requests = Vec::new();
    for (index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
    {
        let at = || format!("{}:{}", file.display(), index + 1);
        let mut fields = line.split('\t');
        let path = fields.next().unwrap_or_default();
        let body = fields.next().unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, content_type.clone());
        // Inserted after it, so a Content-Type field on the line wins over --content-type.
        for field in fields {
            let (name, value) = field
                .split_once(':')
                .with_context(|| format!("{}: no ':' in header", at()))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes()).with_context(at)?;
            headers.insert(name, HeaderValue::from_str(value.trim()).with_context(at)?);
        }
        let url = join_url(&args.url, path).with_context(at)?;
        requests.push(PreparedRequest {
            method: Method::POST,
            url,
            headers,
            body: Some(body),
        });
    }
    if requests.is_empty() {
        bail!("{} holds no requests", file.display());
    }
    Ok(requests)
}

async fn send(client: &Client, request: &PreparedRequest) -> Outcome {
    let mut builder = client
        .request(request.method.clone(), request.url.clone())
        .headers(request.headers.clone());
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    let answer = match builder.send().await {
        // Reading the body to its end counts the whole answer and lets the connection be reused.
        Ok(response) => {
            let status = response.status().as_u16();
            response.bytes().await.map(|_| status)
        }
        Err(error) => Err(error),
    };
    match answer {
        Ok(status) => Outcome::Answered(status),
        Err(error) if error.is_timeout() => Outcome::TimedOut,
        Err(error) => Outcome::Failed(error.into()),
    }
}

async fn closed_loop(run: &'static Run, connections: usize) -> anyhow::Result<()> {
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(async move {
                loop {
                    let sent = Instant::now();
                    if sent >= run.end {
                        break;
                    }
                    let Some(request) = run.list.take() else {
                        break;
                    };
                    // Cut at the end: an answer after it is outside the measured time anyway.
                    let Ok(outcome) = timeout_at(run.end, send(&run.client, request)).await else {
                        break;
                    };
                    let finished = Instant::now();
                    if finished >= run.measure_from {
                        run.record(outcome, sent, finished);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    Ok(())
}

/// When request `i` of an open loop at `rate` is due.
fn due_at(run: &Run, rate: f64, i: u64) -> Instant {
    run.start + Duration::from_secs_f64(i as f64 / rate)
}

/// Waits until request `i` is due and returns when that is, or `None` if it falls after the run. When behind,
/// no wait: the overdue requests leave in a burst to catch up. Tokio's timer is 1 ms coarse, so a request may
/// leave up to ~1 ms late; that lateness counts, as it would for a real client.
async fn wait_until_due(run: &Run, rate: f64, i: u64) -> Option<Instant> {
    let due = due_at(run, rate, i);
    if due >= run.end {
        return None;
    }
    if due > Instant::now() {
        sleep_until(due).await;
    }
    Some(due)
}

/// Returns the backlog: the requests that were due but still waiting for a connection at the end.
async fn open_loop(run: &'static Run, connections: usize, rate: f64) -> u64 {
    let in_flight = Arc::new(Semaphore::new(connections));
    let mut next = 0u64;
    while let Some(due) = wait_until_due(run, rate, next).await {
        let permit = tokio::select! {
            biased;
            permit = in_flight.clone().acquire_owned() => permit.expect("semaphore is never closed"),
            _ = sleep_until(run.end) => break,
        };
        let Some(request) = run.list.take() else {
            break;
        };
        tokio::spawn(async move {
            let _permit = permit;
            let outcome = send(&run.client, request).await;
            let finished = Instant::now();
            if finished >= run.measure_from {
                run.record(outcome, due, finished);
            }
        });
        next += 1;
    }
    let mut backlog = 0;
    while !run.list.ran_out() && due_at(run, rate, next) < run.end {
        backlog += 1;
        next += 1;
    }
    // Holding every permit means every send has finished and been recorded.
    let _all = in_flight
        .acquire_many(connections as u32)
        .await
        .expect("semaphore is never closed");
    backlog
}

type Held = hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>;

/// `count` HTTP/1.1 connections to `base`, each its own (no pool decides which one a request takes), opened a
/// few hundred at a time so the server's accept queue is not flooded.
async fn open_connections(base: &str, count: usize) -> anyhow::Result<Vec<Held>> {
    let url = Url::parse(base)?;
    let address = format!(
        "{}:{}",
        url.host_str().context("--url has no host")?,
        url.port_or_known_default().context("--url has no port")?
    );
    let mut held = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(250) {
        let opened = futures::future::join_all(chunk.iter().map(|_| async {
            let stream = tokio::net::TcpStream::connect(&address).await?;
            stream.set_nodelay(true)?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            // A first request, as a page's first load: a server may close a connection that never sent one.
            let opened = hyper::Request::get("/healthz")
                .header(reqwest::header::HOST, &address)
                .body(http_body_util::Full::new(bytes::Bytes::new()))?;
            sender.ready().await?;
            let answer = sender.send_request(opened).await?;
            http_body_util::BodyExt::collect(answer.into_body()).await?;
            Ok::<_, anyhow::Error>(sender)
        }))
        .await;
        for sender in opened {
            held.push(
                sender
                    .with_context(|| format!("opening connection {} of {count}", held.len() + 1))?,
            );
        }
    }
    eprintln!("load: {count} connections open");
    Ok(held)
}

/// The open loop over held connections: request i goes to connection i mod N, queued behind that
/// connection's earlier requests. Returns the backlog and how many connections were still open at the end.
async fn hold_loop(run: &'static Run, held: Vec<Held>, rate: f64) -> (u64, usize) {
    let timeout = run.request_timeout;
    let (queues, workers): (Vec<_>, Vec<_>) = held
        .into_iter()
        .map(|mut sender| {
            let (queue, mut due) =
                tokio::sync::mpsc::unbounded_channel::<(Instant, &'static PreparedRequest)>();
            let worker = tokio::spawn(async move {
                while let Some((due_at, request)) = due.recv().await {
                    let outcome =
                        match timeout_at(due_at + timeout, send_held(&mut sender, request)).await {
                            Ok(outcome) => outcome,
                            Err(_) => Outcome::TimedOut,
                        };
                    let finished = Instant::now();
                    if finished >= run.measure_from {
                        run.record(outcome, due_at, finished);
                    }
                }
                !sender.is_closed()
            });
            (queue, worker)
        })
        .unzip();
    let mut next = 0u64;
    while let Some(due) = wait_until_due(run, rate, next).await {
        let Some(request) = run.list.take() else {
            break;
        };
        let _ = queues[next as usize % queues.len()].send((due, request));
        next += 1;
    }
    drop(queues);
    let mut still_open = 0;
    for worker in workers {
        still_open += usize::from(worker.await.unwrap_or(false));
    }
    (0, still_open)
}

async fn send_held(sender: &mut Held, request: &PreparedRequest) -> Outcome {
    let answer = async {
        let mut builder = hyper::Request::builder()
            .method(request.method.clone())
            .uri(&request.url[url::Position::BeforePath..])
            .header(
                reqwest::header::HOST,
                &request.url[url::Position::BeforeHost..url::Position::AfterPort],
            );
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let body = bytes::Bytes::from_static(request.body.unwrap_or("").as_bytes());
        let request = builder.body(http_body_util::Full::new(body))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        // Reading the body to its end lets the connection take its next request.
        http_body_util::BodyExt::collect(response.into_body()).await?;
        Ok::<_, anyhow::Error>(status)
    };
    match answer.await {
        Ok(status) => Outcome::Answered(status),
        Err(error) => Outcome::Failed(error),
    }
}

fn percentile_ms(sorted_us: &[u64], fraction: f64) -> Option<f64> {
    let rank = (fraction * sorted_us.len() as f64).ceil() as usize;
    sorted_us.get(rank.max(1) - 1).map(|&us| us as f64 / 1000.0)
}

async fn measure(args: &Args, requests: Vec<PreparedRequest>) -> anyhow::Result<serde_json::Value> {
    let client = Client::builder()
        .http1_only()
        .pool_max_idle_per_host(args.connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_millis(args.timeout_ms))
        .no_proxy() // a loopback benchmark must not go through an HTTP_PROXY from the environment
        .build()?;
    // Held connections are opened before the clock starts: opening them is not what is measured.
    let held = match args.hold {
        Some(count) => Some(open_connections(&args.url, count).await?),
        None => None,
    };
    let (repeat, start) = (!args.no_repeat, Instant::now());
    let measure_from = start + Duration::from_secs_f64(args.warmup_secs);
    let end = measure_from + Duration::from_secs_f64(args.duration_secs);
    let list = RequestList {
        requests,
        next: AtomicUsize::new(0),
        repeat,
    };
    let run: &'static Run = Box::leak(Box::new(Run {
        client,
        list,
        tally: Mutex::default(),
        start,
        measure_from,
        end,
        request_timeout: Duration::from_millis(args.timeout_ms),
    }));
    let mode = if args.rate.is_some() {
        "open"
    } else {
        "closed"
    };
    eprintln!(
        "load: {mode} loop, {} connections, {} s warmup + {} s, {} request(s) in the list",
        args.connections,
        args.warmup_secs,
        args.duration_secs,
        run.list.requests.len()
    );
    let watcher = args.watch_pid.map(|pid| {
        let (from, to) = (measure_from.into_std(), end.into_std());
        std::thread::spawn(move || watch(pid, from, to))
    });
    let (backlog, held) = match (args.rate, held) {
        (Some(rate), Some(held)) => {
            let (backlog, still_open) = hold_loop(run, held, rate).await;
            (backlog, Some(still_open))
        }
        (Some(rate), None) => (open_loop(run, args.connections, rate).await, None),
        (None, _) => (closed_loop(run, args.connections).await.map(|()| 0)?, None),
    };
    let watched = match watcher {
        Some(handle) => Some(
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("watcher panicked"))?,
        ),
        None => None,
    };

    let mut tally = std::mem::take(&mut *run.tally.lock().expect("tally lock"));
    tally.latencies_us.sort_unstable();
    // Shorter than --duration-secs only when --no-repeat ran out of lines: then until the last answer.
    let seconds = match tally.last_finish {
        Some(last) if run.list.ran_out() => {
            last.saturating_duration_since(measure_from).as_secs_f64()
        }
        _ => args.duration_secs,
    };
    let answered = tally.latencies_us.len() as u64;
    let ok: u64 = tally.statuses.range(200..300).map(|(_, count)| count).sum();
    let errors = tally.timeouts + tally.transport_errors + backlog;
    let statuses: serde_json::Map<_, _> = tally
        .statuses
        .iter()
        .map(|(status, count)| (status.to_string(), json!(count)))
        .collect();
    Ok(json!({
        "label": args.label,
        "mode": mode,
        "connections": args.hold.unwrap_or(args.connections),
        "rate": args.rate,
        "requests": answered + errors,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "req_per_s": if seconds > 0.0 { (answered as f64 / seconds * 10.0).round() / 10.0 } else { 0.0 },
        "ok": ok,
        "non_2xx": answered - ok,
        "errors": errors,
        "timeouts": tally.timeouts,
        "transport_errors": tally.transport_errors,
        "backlog": backlog,
        "p50_ms": percentile_ms(&tally.latencies_us, 0.50),
        "p99_ms": percentile_ms(&tally.latencies_us, 0.99),
        "p999_ms": percentile_ms(&tally.latencies_us, 0.999),
        "max_ms": tally.latencies_us.last().map(|&us| us as f64 / 1000.0),
        "statuses": statuses,
        "held_connections": args.hold,
        "held_open_at_end": held,
        "watched_cpu_percent": watched.map(|w| w.cpu_percent),
        "watched_peak_rss_mb": watched.map(|w| w.peak_rss_mb),
    }))
}

#[derive(Clone, Copy)]
struct Watched {
    cpu_percent: f64,
    peak_rss_mb: f64,
}

/// Linux's USER_HZ, the unit of `/proc/*/stat` CPU times, is 100 on every architecture we run on.
const TICKS_PER_SECOND: f64 = 100.0;

/// The process `pid` and its descendants from `from` to `to`: CPU used over that time, and the highest sum of
/// their resident sets seen (sampled every 50 ms).
fn watch(pid: u32, from: std::time::Instant, to: std::time::Instant) -> Watched {
    std::thread::sleep(from.saturating_duration_since(std::time::Instant::now()));
    let cpu_at_start = tree_cpu_ticks(pid);
    let started = std::time::Instant::now();
    let mut peak_rss_kb = 0;
    while std::time::Instant::now() < to {
        peak_rss_kb = peak_rss_kb.max(tree_rss_kb(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    let ticks = tree_cpu_ticks(pid).saturating_sub(cpu_at_start);
    Watched {
        cpu_percent: (ticks as f64 / TICKS_PER_SECOND / seconds * 1000.0).round() / 10.0,
        peak_rss_mb: (peak_rss_kb as f64 / 1024.0 * 10.0).round() / 10.0,
    }
}

/// `pid` and every live process below it (a cluster's or gunicorn's workers), except this tool.
fn process_tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|child| Some((child, stat_fields(child)?.get(1)?.parse().ok()?)))
        .collect();
    // This tool is often the watched process's own child: it and its threads are the load, not the server.
    let me = std::process::id();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(child, p)| *p == parent && *child != me)
                .map(|(child, _)| *child),
        );
        i += 1;
    }
    tree
}

/// The fields of `/proc/PID/stat` after the command name (which may hold spaces): state is field 0.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    Some(after_name.split_whitespace().map(str::to_owned).collect())
}

fn tree_cpu_ticks(pid: u32) -> u64 {
    process_tree(pid)
        .into_iter()
        .filter_map(stat_fields)
        // utime and stime: fields 14 and 15 of stat, 11 and 12 after the name.
        .map(|f| {
            f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
        })
        .sum()
}

fn tree_rss_kb(pid: u32) -> u64 {
    process_tree(pid)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let positive = |value: f64| value > 0.0 && value.is_finite();
    let warmup_ok = args.warmup_secs == 0.0 || positive(args.warmup_secs);
    if args.connections == 0
        || args.threads == 0
        || !positive(args.duration_secs)
        || !warmup_ok
        || !args.rate.is_none_or(positive)
    {
        bail!("--connections, --threads, --duration-secs and --rate must be positive, --warmup-secs not negative");
    }
    let requests = load_requests(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()?;
    let report = runtime.block_on(measure(&args, requests))?;
    println!("{report}");
    Ok(())
}
