//! Tenant administration, the audit of every call and cursor pagination, end to end over the
//! API on both databases: an Owner runs an operator's whole life (membership, token, grant,
//! work within the grant, removal, dead token); tenants stay apart, an operator of two
//! tenants holds one token per tenant; and every list pages through thousands of records
//! newest first, missing and repeating none while new ones arrive.

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use kontor_daemon::api::{route_table, router, Access, AppState};
use kontor_daemon::services::Services;
use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    AuditAction, FileKind, NewOrder, Role, ScopedTx, SignatureClass, Store, TenantScope,
};
use serde_json::{json, Value};

use crate::support::api::{call, operator_token, spare_public_key_pem, Payload, Reply};
use crate::support::seed::{self, records, Seed};
use crate::support::TestDb;

struct Api {
    app: axum::Router,
}

impl Api {
    fn new(store: &Store) -> Self {
        Self {
            app: router(AppState::new(Services::new(store.clone()))),
        }
    }

    async fn get(&self, token: &str, path: &str) -> Reply {
        call(&self.app, Method::GET, path, Some(token), Payload::None).await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        self.send(Method::POST, token, path, body).await
    }

    /// A POST that must answer 201 Created.
    async fn create(&self, token: &str, path: &str, body: Value) -> Reply {
        let reply = self.post(token, path, body).await;
        reply.assert_status(StatusCode::CREATED);
        reply
    }

    /// The tenant's audit events that match `query` (newest first, the first page).
    async fn audit_events(&self, token: &str, query: &str) -> Vec<Value> {
        self.get(token, &format!("/v1/audit-events?{query}"))
            .await
            .items()
    }

    /// The ids of every item of a list, walked in pages of 1000.
    async fn all_ids(&self, token: &str, path: &str) -> HashSet<String> {
        let items = self.walk(token, path, 1000, async || {}).await;
        ids(&items).into_iter().collect()
    }

    /// Adds an operator to the caller's tenant; its id.
    async fn add_operator(&self, token: &str, body: Value) -> String {
        string_at(
            &self.create(token, "/v1/operators", body).await,
            "/operator_id",
        )
    }

    /// A POST that issues a token; its secret.
    async fn issue_token(&self, token: &str, path: &str, body: Value) -> String {
        secret(&self.create(token, path, body).await)
    }

    async fn delete(&self, token: &str, path: &str) -> Reply {
        self.send(Method::DELETE, token, path, Value::Null).await
    }

    async fn send(&self, method: Method, token: &str, path: &str, body: Value) -> Reply {
        let payload = if body.is_null() {
            Payload::None
        } else {
            Payload::Json(body)
        };
        call(&self.app, method, path, Some(token), payload).await
    }

    /// Every page of a list, following `next_cursor`; `between` runs after each page.
    async fn walk(
        &self,
        token: &str,
        path: &str,
        limit: u32,
        mut between: impl AsyncFnMut(),
    ) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let uri = match &cursor {
                Some(c) => format!("{path}{separator}limit={limit}&cursor={c}"),
                None => format!("{path}{separator}limit={limit}"),
            };
            let page = self.get(token, &uri).await;
            assert_eq!(page.status, StatusCode::OK, "{uri}: {}", page.text());
            let page = page.json();
            let batch = page["items"].as_array().expect("items").clone();
            assert!(batch.len() <= limit as usize, "{uri}");
            items.extend(batch);
            between().await;
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => {
                    assert_eq!(page["next_cursor"], Value::Null, "{uri}");
                    return items;
                }
            }
        }
    }
}

/// An audit event that stands for any: a statement file failed.
async fn audit_any(tx: &mut ScopedTx<'_>, target: &str) {
    tx.audit()
        .record(
            AuditAction::StatementFileFailed,
            "statement_file",
            target,
            json!({}),
        )
        .await
        .unwrap();
}

/// The text at `pointer` (RFC 6901) in the reply's JSON.
fn string_at(reply: &Reply, pointer: &str) -> String {
    let json = reply.json();
    let text = json.pointer(pointer).and_then(Value::as_str);
    text.unwrap_or_else(|| panic!("no {pointer} in {json}"))
        .to_owned()
}

fn secret(reply: &Reply) -> String {
    reply.json()["secret"]
        .as_str()
        .or(reply.json()["owner_token"]["secret"].as_str())
        .unwrap_or_else(|| panic!("no secret in {}", reply.text()))
        .to_owned()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn owner_administers_an_operator_from_token_to_removal(db: TestDb) {
    let store = db.store.clone();
    // H004: a signer's key needs no certificate there.
    let a = seed::plant(
        &store,
        Seed::new("A").at("https://bank.example/ebicsweb", ProtocolVersion::H004),
    )
    .await;
    let other_user = a
        .add_user(&store, "OTHER", "Other", SignatureClass::E)
        .await;
    let (owner, owner_id, _) =
        operator_token(&store, "owner@a.example", a.scope.tenant(), Role::Owner).await;
    let api = Api::new(&store);

    // The Owner adds an operator, gives it a token and a grant on one EBICS user.
    let clerk_id = api
        .add_operator(
            &owner,
            json!({"email": "clerk@a.example", "display_name": "Clerk", "role": "ADMIN"}),
        )
        .await;
    let members = format!("/v1/memberships/{clerk_id}");
    let issued = api
        .create(
            &owner,
            &format!("{members}/tokens"),
            json!({"name": "clerk laptop", "days": 30}),
        )
        .await;
    let clerk = secret(&issued);
    assert_eq!(
        issued.json()["token"]["tenant_id"],
        a.scope.tenant().to_string()
    );
    let grant = api
        .post(
            &owner,
            &format!("{members}/grants"),
            json!({"ebics_user_id": a.user}),
        )
        .await;
    grant.assert_status(StatusCode::NO_CONTENT);
    let grants = api.get(&owner, &format!("{members}/grants")).await.json();
    assert_eq!(grants["items"], json!([a.user]));
    let on_user = api
        .get(&owner, &format!("/v1/ebics-users/{}/grants", a.user))
        .await
        .json();
    assert_eq!(
        on_user["items"],
        json!([{"operator_id": clerk_id, "ebics_user_id": a.user}])
    );
    let tokens = api.get(&owner, &format!("{members}/tokens")).await.json();
    assert_eq!(tokens["items"].as_array().unwrap().len(), 1);

    // The operator works within the grant: it sees its user only, and registers a signer's
    // key for it; the other user is as good as absent.
    let users = api.get(&clerk, "/v1/ebics-users").await.json();
    assert_eq!(
        ids(users["items"].as_array().unwrap()),
        [a.user.to_string()]
    );
    let pem = spare_public_key_pem();
    let register = |user: String| {
        let body = json!({"version": "A006", "public_key_pem": pem});
        let api = &api;
        let clerk = &clerk;
        async move {
            api.post(clerk, &format!("/v1/ebics-users/{user}/signer-keys"), body)
                .await
        }
    };
    let own = register(a.user.to_string()).await;
    own.assert_status(StatusCode::CREATED);
    let foreign = register(other_user.to_string()).await;
    foreign.assert_status(StatusCode::NOT_FOUND);

    // Both calls are audited with who, what, the outcome and the request id.
    let failed = api
        .audit_events(&owner, &format!("outcome=FAILED&actor={clerk_id}"))
        .await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0]["operation"],
        "POST /v1/ebics-users/{id}/signer-keys"
    );
    assert_eq!(failed[0]["error_code"], "not_found");
    assert_eq!(failed[0]["target_id"], other_user.to_string());
    assert!(failed[0]["request_id"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    let registered = api
        .audit_events(
            &owner,
            &format!("action=SIGNER_KEY_REGISTERED&actor={clerk_id}"),
        )
        .await;
    assert_eq!(registered.len(), 1);

    // Lifting the grant lifts the restriction.
    let lifted = api
        .delete(&owner, &format!("{members}/grants/{}", a.user))
        .await;
    lifted.assert_status(StatusCode::NO_CONTENT);
    let users = api.get(&clerk, "/v1/ebics-users").await.json();
    assert_eq!(users["items"].as_array().unwrap().len(), 2);

    // The Owner removes the operator: its token stops working at once.
    let removed = api.delete(&owner, &members).await;
    removed.assert_status(StatusCode::NO_CONTENT);
    let dead = api.get(&clerk, "/v1/ebics-users").await;
    dead.assert_status(StatusCode::UNAUTHORIZED);
    let removal = api
        .audit_events(
            &owner,
            "operation=DELETE%20/v1/memberships/%7Boperator_id%7D",
        )
        .await;
    assert_eq!(removal.len(), 1, "{removal:?}");
    assert_eq!(removal[0]["actor"], owner_id.to_string());
    assert_eq!(removal[0]["target_id"], clerk_id);
    assert_eq!(removal[0]["outcome"], "SUCCEEDED");
    // The time filter: nothing is recorded in the future.
    let later = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let future = api
        .get(&owner, &format!("/v1/audit-events?from={later}"))
        .await;
    future.assert_status(StatusCode::OK);
    assert_eq!(future.json()["items"], json!([]));
}

async fn tenants_stay_apart_and_an_operator_of_two_tenants_holds_a_token_per_tenant(db: TestDb) {
    let store = db.store.clone();
    let a = seed::plant(&store, Seed::new("A")).await;
    let (owner_a, _, _) =
        operator_token(&store, "owner@a.example", a.scope.tenant(), Role::Owner).await;
    let (_, platform) = store
        .admin()
        .create_platform_admin("root@platform.example", "Root", None)
        .await
        .unwrap();
    let platform = secrecy::ExposeSecret::expose_secret(&platform.secret).to_owned();
    let api = Api::new(&store);

    // The platform administrator creates tenant B with its first Owner: an operator who
    // will also join A.
    let tenant_b_owned_by = |email: &str| json!({"name": "B", "owner_email": email});
    let created = api
        .create(
            &platform,
            "/v1/tenants",
            tenant_b_owned_by("shared@x.example"),
        )
        .await;
    let tenant_b = string_at(&created, "/tenant/id");
    let shared_in_b = secret(&created);
    // The name is taken, whoever would own the tenant.
    let taken = api
        .post(&platform, "/v1/tenants", tenant_b_owned_by("x@x.example"))
        .await;
    assert_eq!(taken.code(), "tenant_name_taken");
    let tenants = api.get(&platform, "/v1/tenants").await.json();
    assert_eq!(tenants["items"].as_array().unwrap().len(), 2);
    // Platform and tenant tokens do not reach each other's routes.
    assert_eq!(
        api.get(&owner_a, "/v1/tenants").await.status,
        StatusCode::FORBIDDEN
    );
    // A platform token is known but belongs to no tenant: refused (403) like a tenant token
    // on a platform route, while an unknown token stays 401.
    assert_eq!(
        api.get(&platform, "/v1/ebics-users").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api.get("not-a-token", "/v1/ebics-users").await.status,
        StatusCode::UNAUTHORIZED
    );
    let created_audit = api.get(&shared_in_b, "/v1/audit-events").await.json();
    assert_eq!(
        created_audit["items"][0]["action"],
        AuditAction::TenantCreated.as_str()
    );

    // Tenant B's Owner sees nothing of A.
    for path in [
        "/v1/ebics-users",
        "/v1/bank-hosts",
        "/v1/orders",
        "/v1/audit-events",
    ] {
        let reply = api.get(&shared_in_b, path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        for id in [
            a.user.to_string(),
            a.host.to_string(),
            a.connection.to_string(),
        ] {
            assert!(!reply.text().contains(&id), "{path} shows A's {id}");
        }
    }
    let a_user = api
        .get(&shared_in_b, &format!("/v1/ebics-users/{}", a.user))
        .await;
    assert_eq!(a_user.status, StatusCode::NOT_FOUND);

    // A's Owner invites the same operator as a Viewer and issues them a token for A.
    let shared_id = api
        .add_operator(
            &owner_a,
            json!({"email": "shared@x.example", "role": "VIEWER"}),
        )
        .await;
    let shared_in_a = api
        .issue_token(
            &owner_a,
            &format!("/v1/memberships/{shared_id}/tokens"),
            json!({"name": "a"}),
        )
        .await;
    // One operator, one token per tenant: each token acts in its own tenant with its role.
    let in_a = api.get(&shared_in_a, "/v1/ebics-users").await.json();
    assert_eq!(ids(in_a["items"].as_array().unwrap()), [a.user.to_string()]);
    let in_b = api.get(&shared_in_b, "/v1/ebics-users").await.json();
    assert_eq!(in_b["items"], json!([]));
    assert_eq!(
        api.get(&shared_in_a, "/v1/tenant").await.json()["id"],
        a.scope.tenant().to_string()
    );
    assert_eq!(
        api.get(&shared_in_b, "/v1/tenant").await.json()["id"],
        tenant_b
    );
    let viewer_write = api
        .post(
            &shared_in_a,
            &format!("/v1/ebics-users/{}/suspend", a.user),
            Value::Null,
        )
        .await;
    assert_eq!(viewer_write.status, StatusCode::FORBIDDEN);
    // From B, the operator issues themselves another token for A (where they are a member),
    // but none for a tenant they do not belong to.
    let second_in_a = api
        .issue_token(
            &shared_in_b,
            "/v1/tokens",
            json!({"name": "second a", "tenant_id": a.scope.tenant()}),
        )
        .await;
    assert_eq!(
        api.get(&second_in_a, "/v1/tenant").await.json()["id"],
        a.scope.tenant().to_string()
    );
    let c = store.admin().create_tenant("C").await.unwrap();
    let not_member = api
        .post(
            &shared_in_b,
            "/v1/tokens",
            json!({"name": "c", "tenant_id": c.id}),
        )
        .await;
    not_member.assert_status(StatusCode::NOT_FOUND);

    // Removed from A: both A tokens die, the B token lives on.
    let removed = api
        .delete(&owner_a, &format!("/v1/memberships/{shared_id}"))
        .await;
    removed.assert_status(StatusCode::NO_CONTENT);
    for token in [&shared_in_a, &second_in_a] {
        assert_eq!(
            api.get(token, "/v1/ebics-users").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        api.get(&shared_in_b, "/v1/ebics-users").await.status,
        StatusCode::OK
    );
}

/// Inserts `n` orders of `scope`'s user through the storage layer, in one transaction.
async fn insert_orders(
    store: &Store,
    scope: &TenantScope,
    user: kontor_storage::EbicsUserId,
    n: usize,
) {
    let mut tx = store.scope(scope).begin().await.unwrap();
    let file = tx
        .files()
        .create(records::xml_file(FileKind::OrderContent, b"<Document/>"))
        .await
        .unwrap();
    for _ in 0..n {
        tx.orders()
            .create(NewOrder {
                // One payment each: the same file twice would be the same order.
                content_hash: format!(
                    "{}{}",
                    uuid::Uuid::now_v7().simple(),
                    uuid::Uuid::new_v4().simple()
                ),
                ..records::order(user, &file, "1.00")
            })
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

/// A walk saw every record that existed before it exactly once, newest first.
fn assert_complete_newest_first(path: &str, seen: &[Value], before: &HashSet<String>) {
    let seen = ids(seen);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "{path}: a record was repeated");
    for id in before {
        assert!(unique.contains(id), "{path}: {id} was missed");
    }
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "{path}: not newest first"
    );
}

async fn every_list_pages_through_thousands_newest_first_while_rows_arrive(db: TestDb) {
    let store = db.store.clone();
    let a = seed::plant(&store, Seed::new("A").with_account(seed::IBAN)).await;
    let (owner, _, _) =
        operator_token(&store, "owner@a.example", a.scope.tenant(), Role::Owner).await;
    insert_orders(&store, &a.scope, a.user, 5000).await;
    let mut tx = store.scope(&a.scope).begin().await.unwrap();
    for _ in 0..1500 {
        tx.transactions()
            .create(seed::c53_download(a.user))
            .await
            .unwrap();
        audit_any(&mut tx, "x").await;
    }
    tx.commit().await.unwrap();
    let api = Api::new(&store);

    // Orders: 5 000, pages of 700, three new orders after every page.
    let before = api.all_ids(&owner, "/v1/orders").await;
    assert_eq!(before.len(), 5000);
    let seen = api
        .walk(&owner, "/v1/orders", 700, async || {
            insert_orders(&store, &a.scope, a.user, 3).await
        })
        .await;
    assert_complete_newest_first("/v1/orders", &seen, &before);
    assert!(
        seen.len() < 5000 + 3 * 8,
        "only rows older than the walk's start"
    );

    // Transactions and the audit log page the same way.
    for path in ["/v1/transactions", "/v1/audit-events"] {
        let before = api.all_ids(&owner, path).await;
        assert!(before.len() >= 1500, "{path}");
        let seen = api
            .walk(&owner, path, 400, async || {
                let mut tx = store.scope(&a.scope).begin().await.unwrap();
                audit_any(&mut tx, "y").await;
                tx.commit().await.unwrap();
            })
            .await;
        assert_complete_newest_first(path, &seen, &before);
    }

    // Every other list route of the route table answers the same shape and pages.
    for route in route_table() {
        let is_list = route.method == Method::GET
            && route.access == Access::Read
            && !route.path.contains('{')
            && ![
                "/v1/tenant",
                "/v1/booked-transactions/csv",
                // Walked above.
                "/v1/orders",
                "/v1/transactions",
                "/v1/audit-events",
            ]
            .contains(&route.path);
        if !is_list {
            continue;
        }
        let walked = api.walk(&owner, route.path, 2, async || {}).await;
        let all = api
            .get(&owner, &format!("{}?limit=1000", route.path))
            .await
            .json();
        assert_eq!(
            walked.len(),
            all["items"].as_array().unwrap().len(),
            "{}",
            route.path
        );
    }
    let bad = api.get(&owner, "/v1/orders?cursor=not-a-cursor!").await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_cursor");
    let bad = api.get(&owner, "/v1/orders?limit=0").await;
    assert_eq!(bad.code(), "invalid_limit");
}

/// The lists under one record: short ones read whole and paged in memory, and a member's
/// tokens (keyset).
const LISTS_UNDER_A_RECORD: [&str; 12] = [
    "/v1/accounts/{id}/balances",
    "/v1/bank-hosts/{id}/keys",
    "/v1/ebics-users/{id}/grants",
    "/v1/ebics-users/{id}/key-pairs",
    "/v1/ebics-users/{id}/permissions",
    "/v1/memberships/{id}/grants",
    "/v1/memberships/{id}/tokens",
    "/v1/schedules/{id}/runs",
    "/v1/transactions/{id}/events",
    "/v1/transactions/{id}/segments",
    "/v1/webhook-deliveries/{id}/attempts",
    "/v1/webhooks/{id}/deliveries",
];

async fn a_bad_page_query_under_an_unknown_record_answers_422_like_every_list(db: TestDb) {
    let store = db.store.clone();
    let a = seed::plant(&store, Seed::new("A")).await;
    let (owner, _, _) =
        operator_token(&store, "owner@a.example", a.scope.tenant(), Role::Owner).await;
    let api = Api::new(&store);
    let unknown = uuid::Uuid::now_v7().to_string();
    for list in LISTS_UNDER_A_RECORD {
        let path = list.replace("{id}", &unknown);
        let missing = api.get(&owner, &path).await;
        missing.assert_error_for(&path, StatusCode::NOT_FOUND, "not_found");
        // The page query is decoded before the record is looked up, as on the keyset routes.
        let bad = api
            .get(&owner, &format!("{path}?cursor=not-a-cursor!"))
            .await;
        bad.assert_error_for(&path, StatusCode::UNPROCESSABLE_ENTITY, "invalid_cursor");
        let bad = api.get(&owner, &format!("{path}?limit=0")).await;
        bad.assert_error_for(&path, StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit");
    }
    let keyset = api.get(&owner, "/v1/orders?cursor=not-a-cursor!").await;
    keyset.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_cursor");
}

on_both_databases! {
    owner_administers_an_operator_from_token_to_removal;
    tenants_stay_apart_and_an_operator_of_two_tenants_holds_a_token_per_tenant;
    every_list_pages_through_thousands_newest_first_while_rows_arrive;
    a_bad_page_query_under_an_unknown_record_answers_422_like_every_list;
}
