//! Every reply of the API tests checked against the OpenAPI document: its status must be
//! documented for the route, its media type too, and a JSON body must validate against the
//! documented schema. So each API test is also a test that the document matches the server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::{header, HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

/// The route template of the document that `path` (without query) matches: the one with the
/// most literal segments, as the router prefers them.
pub fn template_of<'d>(doc: &'d Value, path: &str) -> Option<&'d str> {
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            (parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| p.starts_with('{') || p == s))
            .then(|| {
                let literal = parts.iter().filter(|p| !p.starts_with('{')).count();
                (literal, template.as_str())
            })
        })
        .max()
        .map(|(_, template)| template)
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

fn validator(doc: &Value, pointer: &str) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Validators::default);
    if let Some(v) = cache.lock().unwrap().get(pointer) {
        return v.clone();
    }
    // The schema's `$ref`s point into the document's components: carry them along.
    let mut schema = doc.pointer(pointer).unwrap().clone();
    if let Some(object) = schema.as_object_mut() {
        object.insert("components".into(), doc["components"].clone());
    } else {
        schema = json!({"allOf": [schema], "components": doc["components"]});
    }
    let v = Arc::new(
        jsonschema::draft202012::new(&schema)
            .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}")),
    );
    cache.lock().unwrap().insert(pointer.to_owned(), v.clone());
    v
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Panics when the reply to `method uri` is not what the document says the route answers.
pub fn check_reply(
    method: &Method,
    uri: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) {
    let doc = kontor_daemon::api::openapi_document();
    let path = uri.split('?').next().unwrap_or_default();
    // Unknown routes and methods answer the router's own 404/405.
    let Some(template) = template_of(doc, path) else {
        return;
    };
    let method_name = method.as_str().to_ascii_lowercase();
    if doc["paths"][template].get(&method_name).is_none() {
        return;
    }
    let responses = &doc["paths"][template][&method_name]["responses"];
    let code = status.as_str();
    let key = if responses.get(code).is_some() {
        code
    } else {
        "default"
    };
    let response = responses.get(key).unwrap_or_else(|| {
        panic!("{method} {template} answered {status}, which the document does not list")
    });
    assert!(
        key != "default" || !status.is_success(),
        "{method} {template} answered {status}, which the document does not list"
    );
    let Some(content) = response["content"].as_object() else {
        assert!(
            body.is_empty(),
            "{method} {template} {status}: a body the document does not describe"
        );
        return;
    };
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    assert!(
        content.contains_key(&media) || content.contains_key("application/octet-stream"),
        "{method} {template} {status}: media type {media:?} is not documented ({:?})",
        content.keys().collect::<Vec<_>>()
    );
    if media == "application/json" {
        let instance: Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("{method} {template} {status}: not JSON: {e}"));
        let pointer = format!(
            "/paths/{}/{method_name}/responses/{key}/content/application~1json/schema",
            escape(template)
        );
        let v = validator(doc, &pointer);
        let errors: Vec<String> = v
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .take(5)
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {template} {status}: the body does not match the document: {errors:#?}\n{instance:#}"
        );
    }
}
