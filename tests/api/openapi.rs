//! The OpenAPI contract: served at `/openapi.json`, rendered at `/docs`, and complete. Every route that startup
//! mounts (read from the source: the scopes in `startup.rs` and each `configure` function's routes) is in the
//! document, and the document has nothing that is not mounted.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use wxcampaign::error::ErrorCode;

use crate::helpers::spawn_app;

fn source(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

/// The quoted strings after each `pattern` in `text`.
fn quoted_after<'a>(text: &'a str, pattern: &str) -> Vec<&'a str> {
    text.match_indices(pattern)
        .filter_map(|(at, _)| {
            let rest = &text[at + pattern.len()..];
            let start = rest.find('"')? + 1;
            let end = start + rest[start..].find('"')?;
            Some(&rest[start..end])
        })
        .collect()
}

/// `(METHOD, path)` of every route a `configure` function in `file` named `function` registers.
fn routes_of(file: &str, function: &str) -> Vec<(String, String)> {
    let text = source(file);
    let start = text
        .find(&format!("pub fn {function}(cfg: &mut web::ServiceConfig)"))
        .unwrap_or_else(|| panic!("{file} has no {function}"));
    let body = &text[start..start + text[start..].find("\n}\n").unwrap()];
    let mut routes = Vec::new();
    for (at, _) in body.match_indices("route(") {
        let rest = &body[at..];
        let path = quoted_after(rest, "route(")[0];
        let method_at = rest.find("web::").unwrap() + "web::".len();
        let method: String = rest[method_at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase())
            .collect();
        routes.push((method.to_uppercase(), path.to_owned()));
    }
    routes
}

/// Every mounted `(METHOD, full path)`, from the scopes and `configure` calls in `startup.rs`.
fn mounted_routes() -> BTreeSet<(String, String)> {
    let startup = source("src/startup.rs");
    let run = &startup[startup.find("fn run(").unwrap()..];
    let mut mounted = BTreeSet::new();
    let mut scope = String::new();
    for line in run.lines() {
        if let Some(name) = quoted_after(line, "web::scope(").first() {
            scope = (*name).to_owned();
        }
        let Some(at) = line.find(".configure(") else {
            continue;
        };
        let target = line[at + ".configure(".len()..].trim_end_matches([')', ',']);
        let parts: Vec<&str> = target.split("::").collect();
        let (file, function) = match parts.as_slice() {
            ["http", "extractor_configs"] => continue,
            ["http", function] => ("src/http/mod.rs".to_owned(), *function),
            ["http", module, function] => (format!("src/http/{module}.rs"), *function),
            [module, "routes", function] => (format!("src/{module}/routes.rs"), *function),
            other => panic!("unexpected configure target {other:?}"),
        };
        let prefix = if parts.len() == 2 && parts[0] == "http" {
            ""
        } else {
            scope.as_str()
        };
        for (method, path) in routes_of(&file, function) {
            mounted.insert((method, format!("{prefix}{path}")));
        }
    }
    mounted
}

#[tokio::test]
async fn the_document_covers_every_mounted_route_and_nothing_else() {
    let app = spawn_app().await;
    let response = app.get("/openapi.json", None).await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));

    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let mounted = mounted_routes();
    assert!(
        mounted.len() > 40,
        "the source scan found {}",
        mounted.len()
    );
    let missing: Vec<_> = mounted.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "mounted but not documented: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&mounted).collect();
    assert!(extra.is_empty(), "documented but not mounted: {extra:?}");

    // Each operation answers its success and its errors, errors in the one error shape.
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses
                    .keys()
                    .any(|s| s.starts_with('2') || s.starts_with('3')),
                "{method} {path} has no success answer"
            );
            assert!(
                responses.contains_key("500"),
                "{method} {path} lacks the shared errors"
            );
        }
    }
    let codes: BTreeSet<&str> = document["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("the ErrorCode schema lists the codes")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let all: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes, all, "the document lists every error code");
}

#[tokio::test]
async fn the_docs_page_renders_from_vendored_assets() {
    let app = spawn_app().await;
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let script = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(script.status(), 200, "the UI's assets are served locally");
    assert!(script.text().await.unwrap().len() > 10_000);
}

#[tokio::test]
async fn every_listed_error_code_is_under_its_own_status() {
    let app = spawn_app().await;
    let document: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.as_str() < "400" {
                    continue;
                }
                for name in response["description"].as_str().unwrap().split(", ") {
                    let code = ErrorCode::parse(name)
                        .unwrap_or_else(|| panic!("{method} {path} {status}: `{name}` is no code"));
                    assert_eq!(
                        code.status().as_str(),
                        status,
                        "{method} {path}: `{name}` listed under the wrong status"
                    );
                }
            }
        }
    }
}
