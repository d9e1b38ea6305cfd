//! The OpenAPI document against the route table: every route documents its success
//! answers, its parameters and its error body, and every schema compiles. (That real replies
//! match the document is checked on every reply of the API tests: `support::openapi`.)

use kontor_daemon::api::{openapi_document, route_table};
use serde_json::Value;

fn operation<'d>(doc: &'d Value, method: &str, path: &str) -> &'d Value {
    &doc["paths"][path][method.to_ascii_lowercase()]
}

#[test]
fn every_route_documents_a_success_answer_its_parameters_and_its_errors() {
    let doc = openapi_document();
    let mut problems = Vec::new();
    for route in route_table() {
        let op = operation(doc, route.method.as_str(), route.path);
        let what = format!("{} {}", route.method, route.path);
        let responses = op["responses"].as_object().unwrap();
        if !responses.keys().any(|code| code.starts_with('2')) {
            problems.push(format!("{what}: no success answer"));
        }
        for (code, response) in responses {
            for (media, content) in response["content"].as_object().into_iter().flatten() {
                if content.get("schema").is_none() {
                    problems.push(format!("{what} {code} {media}: no schema"));
                }
            }
        }
        let documented: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let placeholders: Vec<&str> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        if documented != placeholders {
            problems.push(format!("{what}: path parameters {documented:?}"));
        }
        // Every route but the probes can fail with the one error body.
        if !route.path.ends_with("z") && route.path != "/metrics" && route.path != "/openapi.json" {
            let error = &responses
                .get("default")
                .map(|r| &r["content"]["application/json"]["schema"]["$ref"]);
            if error.and_then(Value::as_str) != Some("#/components/schemas/Error") {
                problems.push(format!("{what}: no error body"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_schema_of_the_document_compiles_and_every_reference_resolves() {
    let doc = openapi_document();
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    assert!(refs.len() > 50, "only {} references", refs.len());
    for r in refs {
        let pointer = r.strip_prefix('#').expect("local references only");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let mut schema = schema.clone();
        schema["components"] = doc["components"].clone();
        jsonschema::draft202012::new(&schema)
            .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"));
    }
}

fn collect_refs<'d>(value: &'d Value, out: &mut Vec<&'d str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_list_answers_the_one_page_shape() {
    let doc = openapi_document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut lists = 0;
    for route in route_table().iter().filter(|r| r.method == "GET") {
        let schema = &operation(doc, "GET", route.path)["responses"]["200"]["content"]
            ["application/json"]["schema"];
        let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        else {
            continue;
        };
        if !name.starts_with("ItemPage") {
            continue;
        }
        lists += 1;
        let page = &schemas[name];
        assert_eq!(page["properties"]["items"]["type"], "array", "{name}");
        assert!(page["properties"]["next_cursor"].is_object(), "{name}");
        assert_eq!(
            page["required"],
            serde_json::json!(["items", "next_cursor"]),
            "{name}"
        );
    }
    assert!(lists >= 20, "only {lists} list routes");
}

#[test]
fn non_json_answers_name_their_media_types() {
    let doc = openapi_document();
    let media = |method: &str, path: &str| -> Vec<String> {
        operation(doc, method, path)["responses"]["200"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    assert!(media("GET", "/metrics").contains(&"text/plain".to_owned()));
    assert!(media("GET", "/v1/orders/{id}/file").contains(&"application/xml".to_owned()));
    assert!(
        media("GET", "/v1/ebics-users/{id}/letters/ini").contains(&"application/pdf".to_owned())
    );
}

#[test]
fn create_calls_document_their_idempotency_key_header() {
    let doc = openapi_document();
    for path in ["/v1/orders", "/v1/payments"] {
        let parameters = operation(doc, "POST", path)["parameters"]
            .as_array()
            .unwrap();
        let header = parameters
            .iter()
            .find(|p| p["in"] == "header" && p["name"] == "Idempotency-Key")
            .unwrap_or_else(|| panic!("POST {path}: no Idempotency-Key header in {parameters:?}"));
        assert_eq!(header["required"], false, "POST {path}");
        assert_eq!(header["schema"]["maxLength"], 255, "POST {path}");
    }
}

#[test]
fn a_json_payment_documents_the_fields_validation_requires() {
    let doc = openapi_document();
    let body = &operation(doc, "POST", "/v1/payments")["requestBody"]["content"]
        ["application/json"]["schema"];
    let required: Vec<&str> = body["required"]
        .as_array()
        .unwrap_or_else(|| panic!("no required fields in {body}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["scheme", "account", "transactions"] {
        assert!(required.contains(&field), "{field} not in {required:?}");
    }
    assert!(!required.contains(&"requested_date"), "{required:?}");
}

/// tests/openapi-python: the venv with the pinned validator and client generator.
fn python_tools() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/openapi-python");
    let python = dir.join(".venv/bin/python");
    let ready = python.exists()
        && std::process::Command::new(&python)
            .args(["-c", "import openapi_spec_validator, openapi_python_client"])
            .status()
            .is_ok_and(|s| s.success());
    if ready {
        return Some(dir);
    }
    let reason = "tests/openapi-python/.venv lacks the OpenAPI tools (run tests/openapi-python/setup-venv.sh)";
    if std::env::var("KONTOR_REQUIRE_OPENAPI_TOOLS").as_deref() == Ok("1") {
        panic!("KONTOR_REQUIRE_OPENAPI_TOOLS=1 but {reason}");
    }
    println!("SKIPPED the generated Python client test: {reason}");
    None
}

/// An independent validator accepts the document, and a client generated from it by an
/// independent generator works against the API served over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_python_client_validates_the_document_and_calls_the_daemon() {
    let Some(dir) = python_tools() else {
        return;
    };
    let w = crate::support::api::world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = w.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let work = tempfile::tempdir().unwrap();
    let document = work.path().join("openapi.json");
    // The document as the daemon serves it.
    let served = reqwest::get(format!("{base}/openapi.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::write(&document, &served).unwrap();
    let output = tokio::process::Command::new(dir.join(".venv/bin/python"))
        .arg(dir.join("client_test.py"))
        .arg(&document)
        .arg(&base)
        .arg(&w.owner_a)
        .arg(work.path())
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        // Kept for a look: the document and what was generated from it.
        panic!("{text}\nkept in {}", work.keep().display());
    }
    assert!(
        text.contains("created, read and listed bank host"),
        "{text}"
    );
}

/// The check every API test reply passes refuses a body or a status the document does not
/// give for the route.
#[test]
fn replies_unlike_the_document_are_refused() {
    use crate::support::openapi::check_reply;
    use axum::http::{HeaderMap, Method, StatusCode};
    let mut json = HeaderMap::new();
    json.insert("content-type", "application/json".parse().unwrap());
    let id = "/v1/bank-hosts/00000000-0000-0000-0000-000000000000";
    let refused = |status: StatusCode, body: &'static [u8]| {
        let json = json.clone();
        std::panic::catch_unwind(move || check_reply(&Method::GET, id, status, &json, body))
            .is_err()
    };
    assert!(
        refused(StatusCode::OK, br#"{"id": 5}"#),
        "a body of the wrong shape"
    );
    assert!(
        refused(StatusCode::CREATED, b"{}"),
        "an undocumented success status"
    );
    let error = br#"{"error": {"code": "not_found", "message": "bank host not found"}}"#;
    assert!(
        !refused(StatusCode::NOT_FOUND, error),
        "the documented error body"
    );
    assert!(
        refused(StatusCode::NOT_FOUND, br#"{"error": "nope"}"#),
        "another error body"
    );
}
