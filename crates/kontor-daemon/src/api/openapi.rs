//! The OpenAPI 3.1 document, generated from the route table and the handlers' types, so it
//! lists exactly the routes the router serves with the bodies they really take and give.
//!
//! Every route is registered through [`super::Routes`] with its handler, and the handler's
//! type documents it: [`DocHandler`] is implemented for every `async fn(A, B, ..) -> R` whose
//! extractors are [`DocInput`] (a path id, [`super::extract::QueryParams<T>`],
//! [`super::extract::JsonBody<T>`] ...) and whose result is [`DocOutput`] (`Json<T>`,
//! [`super::respond::Created<T>`], `Result<_, ApiError>` ...). A handler that takes or returns
//! something the document cannot describe does not compile, and a body type without a
//! `JsonSchema` neither.
//!
//! Schemas are JSON Schema 2020-12 (the OpenAPI 3.1 dialect) from `schemars`: responses
//! describe how types serialise and are shared under `components/schemas`; request bodies and
//! query parameters describe how they deserialise and are inlined (a type may read
//! differently from how it is written, e.g. `Valid<T>` fields are text).

use std::future::Future;
use std::sync::OnceLock;

use axum::http::Method;
use axum::Json;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::transform::ReplaceBoolSchemas;
use schemars::JsonSchema;
use schemars::Schema;
use serde_json::{json, Map, Value};

use super::{Access, Routes};

/// One route: its method, path (with `{param}` placeholders), who may call it, a one-line
/// summary and how its handler documents itself.
#[derive(Clone)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    pub(super) document: fn(&mut Operation, &mut Docs),
}

impl std::fmt::Debug for RouteInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.method, self.path, self.access.name())
    }
}

impl RouteInfo {
    /// Whether the route is reachable without a bearer token.
    fn is_public(&self) -> bool {
        self.access == Access::Public
    }
}

pub fn routes(routes: Routes) -> Routes {
    routes.get(
        "/openapi.json",
        Access::Public,
        "This OpenAPI document",
        document,
    )
}

async fn document() -> Json<Value> {
    Json(openapi_document().clone())
}

/// The OpenAPI document of the whole API (built once).
pub fn openapi_document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| build(&super::route_table()))
}

/// The schema generators of one document.
pub struct Docs {
    /// Responses: how types serialise, shared under `#/components/schemas`.
    output: SchemaGenerator,
    /// Requests: how types deserialise, inlined.
    input: SchemaGenerator,
}

impl Docs {
    fn new() -> Self {
        let output = SchemaSettings::draft2020_12()
            .for_serialize()
            .with(|s| {
                s.definitions_path = "/components/schemas".into();
                s.meta_schema = None;
            })
            // `{}` rather than `true` for any JSON: the same schema, which client generators
            // read too.
            .with_transform(any_json())
            .with_transform(enum_of_consts as fn(&mut Schema))
            .into_generator();
        let input = SchemaSettings::draft2020_12()
            .for_deserialize()
            .with(|s| {
                s.inline_subschemas = true;
                s.meta_schema = None;
            })
            .with_transform(any_json())
            .with_transform(enum_of_consts as fn(&mut Schema))
            .into_generator();
        Self { output, input }
    }

    /// The schema of a response body of type `T` (a `$ref` for named types).
    pub fn output<T: JsonSchema + ?Sized>(&mut self) -> Value {
        schema_of::<T>(&mut self.output)
    }

    /// The schema of a request body or query of type `T`, inlined.
    pub fn input<T: JsonSchema + ?Sized>(&mut self) -> Value {
        schema_of::<T>(&mut self.input)
    }
}

/// `T`'s schema from `generator`, with the generator's transforms applied to it as well.
fn schema_of<T: JsonSchema + ?Sized>(generator: &mut SchemaGenerator) -> Value {
    let mut schema = generator.subschema_for::<T>();
    generator
        .transforms_mut()
        .for_each(|t| t.transform(&mut schema));
    any_as_object(schema.to_value())
}

/// A top-level `true` (any JSON, e.g. this document's own schema) as `{}`; the transform
/// covers the nested ones.
fn any_as_object(schema: Value) -> Value {
    if schema == Value::Bool(true) {
        json!({})
    } else {
        schema
    }
}

/// A `oneOf` of string constants (a documented enum) as one `enum`, the variants' docs in
/// the description: the same values, in the form client generators map to an enum type.
fn enum_of_consts(schema: &mut Schema) {
    schemars::transform::transform_subschemas(&mut (enum_of_consts as fn(&mut Schema)), schema);
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let Some(Value::Array(variants)) = object.get("oneOf") else {
        return;
    };
    let values: Option<Vec<(Value, Option<String>)>> = variants
        .iter()
        .map(|v| {
            let constant = v.get("const").filter(|c| c.is_string())?;
            Some((
                constant.clone(),
                v.get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ))
        })
        .collect();
    let Some(values) = values else {
        return;
    };
    let notes: Vec<String> = values
        .iter()
        .filter_map(|(value, note)| Some(format!("`{}`: {}", value.as_str()?, note.as_ref()?)))
        .collect();
    object.remove("oneOf");
    object.insert("type".into(), "string".into());
    object.insert(
        "enum".into(),
        values.into_iter().map(|(value, _)| value).collect(),
    );
    if !notes.is_empty() {
        let text = match object.get("description").and_then(Value::as_str) {
            Some(description) => format!("{description}\n\n{}", notes.join("; ")),
            None => notes.join("; "),
        };
        object.insert("description".into(), text.into());
    }
}

fn any_json() -> ReplaceBoolSchemas {
    let mut transform = ReplaceBoolSchemas::default();
    transform.skip_additional_properties = true;
    transform
}

/// What the document says of one operation, filled in by its handler's types.
#[derive(Default)]
pub struct Operation {
    parameters: Vec<Value>,
    request_body: Option<Value>,
    responses: Map<String, Value>,
}

impl Operation {
    /// Marks the route's one path parameter as a record id.
    pub fn path_id(&mut self) {
        let mut ids = self.parameters.iter_mut().filter(|p| p["in"] == "path");
        if let (Some(id), None) = (ids.next(), ids.next()) {
            id["schema"] = json!({"type": "string", "format": "uuid"});
        }
    }

    /// Query parameters: each property of `T`'s (deserialising) schema.
    pub fn query<T: JsonSchema>(&mut self, docs: &mut Docs) {
        let schema = docs.input::<T>();
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        let Some(properties) = schema["properties"].as_object() else {
            return;
        };
        for (name, property) in properties {
            let mut property = property.clone();
            let description = property
                .as_object_mut()
                .and_then(|p| p.remove("description"));
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.iter().any(|r| r == name),
                "schema": property,
            });
            if let Some(description) = description {
                parameter["description"] = description;
            }
            self.parameter(parameter);
        }
    }

    /// Documents (or refines) a parameter; a later one of the same name and place wins.
    pub fn parameter(&mut self, parameter: Value) {
        self.parameters
            .retain(|p| p["name"] != parameter["name"] || p["in"] != parameter["in"]);
        self.parameters.push(parameter);
    }

    /// The request body: `content` maps media types to `{"schema": ...}`.
    pub fn request_body(&mut self, required: bool, content: Value) {
        self.request_body = Some(json!({"required": required, "content": content}));
    }

    /// A request body of bytes (any media type: the handler reads what it is).
    fn binary_body(&mut self, description: &str) {
        self.request_body = Some(json!({
            "required": true,
            "description": description,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }));
    }

    /// A response: `content` maps media types to `{"schema": ...}` (`None`: no body).
    pub fn response(&mut self, status: &str, description: &str, content: Option<Value>) {
        let mut response = json!({ "description": description });
        if let Some(content) = content {
            response["content"] = content;
        }
        self.responses.insert(status.to_owned(), response);
    }

    /// A JSON response of type `T`.
    pub fn json_response<T: JsonSchema>(&mut self, docs: &mut Docs, status: &str, what: &str) {
        let schema = docs.output::<T>();
        self.response(
            status,
            what,
            Some(json!({"application/json": {"schema": schema}})),
        );
    }
}

/// A request extractor that documents what it takes from the request.
pub trait DocInput {
    fn document(operation: &mut Operation, docs: &mut Docs);
}

/// A handler result that documents the responses it can give.
pub trait DocOutput {
    fn document(operation: &mut Operation, docs: &mut Docs);
}

/// A handler documented by its argument and result types (`Args` is the tuple of its
/// arguments, inferred at registration).
pub trait DocHandler<Args> {
    fn document(operation: &mut Operation, docs: &mut Docs);
}

macro_rules! doc_handler {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> DocHandler<($($arg,)*)> for F
        where
            F: FnOnce($($arg,)*) -> Fut,
            Fut: Future<Output = R>,
            R: DocOutput,
            $($arg: DocInput,)*
        {
            fn document(operation: &mut Operation, docs: &mut Docs) {
                $(<$arg as DocInput>::document(operation, docs);)*
                R::document(operation, docs);
            }
        }
    };
}

doc_handler!();
doc_handler!(A1);
doc_handler!(A1, A2);
doc_handler!(A1, A2, A3);
doc_handler!(A1, A2, A3, A4);
doc_handler!(A1, A2, A3, A4, A5);
doc_handler!(A1, A2, A3, A4, A5, A6);
doc_handler!(A1, A2, A3, A4, A5, A6, A7);

/// A handler with a layer (e.g. its own body limit) documents as the handler.
impl<L, H, T, S, Args> DocHandler<Args> for axum::handler::Layered<L, H, T, S>
where
    H: DocHandler<Args>,
{
    fn document(operation: &mut Operation, docs: &mut Docs) {
        H::document(operation, docs);
    }
}

// --- extractors that take nothing the document describes --------------------------------

macro_rules! undocumented_input {
    ($($ty:ty),+ $(,)?) => {$(
        impl DocInput for $ty {
            fn document(_: &mut Operation, _: &mut Docs) {}
        }
    )+};
}

undocumented_input!(
    // Who may call is the route's access level, documented from the route table.
    super::auth::Caller,
    super::auth::PlatformCaller,
    // Headers the API reads are documented by the routes' types or summaries.
    axum::http::HeaderMap,
);

impl<T> DocInput for axum::extract::State<T> {
    fn document(_: &mut Operation, _: &mut Docs) {}
}

/// Path parameters as text: the handler parses them (a malformed one names no record).
impl<T> DocInput for axum::extract::Path<T> {
    fn document(_: &mut Operation, _: &mut Docs) {}
}

/// A certificate to import, PEM or DER.
impl DocInput for axum::body::Bytes {
    fn document(operation: &mut Operation, _: &mut Docs) {
        operation.binary_body("The certificate, PEM or DER");
    }
}

/// A raw request body: a payment file as it is (`POST /v1/orders`).
impl DocInput for axum::body::Body {
    fn document(operation: &mut Operation, _: &mut Docs) {
        operation.binary_body("The pain.001/pain.008 file as it is");
    }
}

// --- results --------------------------------------------------------------------------

impl<T: JsonSchema> DocOutput for Json<T> {
    fn document(operation: &mut Operation, docs: &mut Docs) {
        operation.json_response::<T>(docs, "200", "OK");
    }
}

impl<T: DocOutput> DocOutput for Result<T, super::error::ApiError> {
    fn document(operation: &mut Operation, docs: &mut Docs) {
        T::document(operation, docs);
        let schema = docs.output::<super::error::ErrorResponse>();
        operation.response(
            "default",
            "An error, with its stable code",
            Some(json!({"application/json": {"schema": schema}})),
        );
    }
}

/// The document of every route in `table`.
fn build(table: &[RouteInfo]) -> Value {
    let mut docs = Docs::new();
    let mut paths = Map::new();
    for route in table {
        let mut op = Operation::default();
        // Every placeholder is a path parameter; typed ids refine theirs.
        for name in path_parameters(route.path) {
            op.parameter(
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
            );
        }
        (route.document)(&mut op, &mut docs);
        let mut operation = json!({
            "summary": route.summary,
            "description": format!("Who may call it: {}", route.access.describe()),
            "x-kontor-access": route.access.name(),
            "operationId": operation_id(route),
            "parameters": op.parameters,
            "responses": op.responses,
        });
        if let Some(body) = op.request_body {
            operation["requestBody"] = body;
        }
        if route.is_public() {
            operation["security"] = json!([]);
        }
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        item[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    let schemas = docs.output.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Kontor admin API", "version": env!("CARGO_PKG_VERSION")},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        }
    })
}

/// The `{name}` placeholders of a route's path.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn operation_id(route: &RouteInfo) -> String {
    let mut id = route.method.as_str().to_ascii_lowercase();
    for segment in route
        .path
        .split('/')
        .filter(|s| !s.is_empty() && *s != "v1")
    {
        id.push('_');
        id.push_str(
            &segment
                .trim_start_matches('{')
                .trim_end_matches('}')
                .replace(['-', '.'], "_"),
        );
    }
    id
}
