//! Servers for the transport tests, all on loopback: a TLS "bank" with a certificate from a CA
//! made in the test, a plain HTTP server that counts requests, and a CONNECT proxy that
//! counts tunnels.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// What the TLS bank answers on `/ebicsweb`.
pub const OK_ANSWER: &[u8] = b"<ok/>";
/// What the huge routes offer: far more than any limit, produced lazily.
pub const HUGE_ANSWER_BYTES: u64 = 1 << 30;
const CHUNK: usize = 64 << 10;

/// A CA made for one test and a server certificate it issued for `localhost` and 127.0.0.1.
pub struct TestPki {
    pub ca_pem: String,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl TestPki {
    pub fn new(ca_name: &str) -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, ca_name);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca = ca_params.self_signed(&ca_key).unwrap();

        let server_key = rcgen::KeyPair::generate().unwrap();
        let mut server_params =
            rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        server_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "bank test system");
        let server = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();
        Self {
            ca_pem: ca.pem(),
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
        }
    }

    fn acceptor(&self) -> TlsAcceptor {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.server_key.clone().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(self.server_chain.clone(), key)
        .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }
}

/// How much of a huge answer the server produced, and whether the exchange ended.
#[derive(Default)]
pub struct Meter {
    sent: AtomicU64,
    ended: Notify,
}

impl Meter {
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Waits until the server gave up on the answer (the client dropped the connection).
    /// The timeout only keeps a broken test from hanging; it measures nothing.
    pub async fn wait_ended(&self) -> bool {
        tokio::time::timeout(Duration::from_secs(60), self.ended.notified())
            .await
            .is_ok()
    }
}

/// Dropped with the answer's body: hyper drops it when the connection ends.
struct EndGuard(Arc<Meter>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.ended.notify_one();
    }
}

#[derive(Clone)]
struct BankState {
    requests: Arc<AtomicUsize>,
    streamed: Arc<Meter>,
    declared: Arc<Meter>,
    redirect_to: String,
}

/// An https bank test system.
pub struct TlsBank {
    pub addr: SocketAddr,
    state: BankState,
}

impl TlsBank {
    /// Routes: `/ebicsweb` answers [`OK_ANSWER`]; `/huge` streams 1 GiB without a length;
    /// `/huge-declared` announces 1 GiB in Content-Length; `/redirect` answers 302 to
    /// `redirect_to`.
    pub async fn start(pki: &TestPki, redirect_to: &str) -> Self {
        let state = BankState {
            requests: Arc::default(),
            streamed: Arc::default(),
            declared: Arc::default(),
            redirect_to: redirect_to.to_owned(),
        };
        let app = Router::new()
            .route("/ebicsweb", post(ok))
            .route("/huge", post(huge))
            .route("/huge-declared", post(huge_declared))
            .route("/redirect", post(redirect))
            .with_state(state.clone());
        let acceptor = pki.acceptor();
        let addr = serve_each_connection(move |tcp| {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            async move {
                // A client that refuses the certificate ends the handshake here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            }
        })
        .await;
        Self { addr, state }
    }

    /// `https://{host}:{port}{path}`; `host` is `localhost` or `127.0.0.1`.
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.addr.port())
    }

    /// Requests that reached a handler (completed TLS handshakes only).
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    pub fn streamed(&self) -> &Meter {
        &self.state.streamed
    }

    pub fn declared(&self) -> &Meter {
        &self.state.declared
    }
}

/// Listens on a loopback port and hands every connection to `serve`, each on a task of its
/// own; the port's address.
async fn serve_each_connection<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve(tcp));
        }
    });
    addr
}

async fn ok(State(state): State<BankState>) -> impl IntoResponse {
    state.requests.fetch_add(1, Ordering::SeqCst);
    ([(header::CONTENT_TYPE, "text/xml")], OK_ANSWER)
}

/// 1 GiB produced chunk by chunk only as fast as the client reads it.
fn lazy_gigabyte(meter: Arc<Meter>) -> Body {
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    let guard = EndGuard(meter);
    let stream = futures::stream::unfold((0u64, guard), move |(produced, guard)| {
        let chunk = chunk.clone();
        async move {
            if produced >= HUGE_ANSWER_BYTES {
                return None;
            }
            guard.0.sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            let produced = produced + chunk.len() as u64;
            Some((Ok::<_, Infallible>(chunk), (produced, guard)))
        }
    });
    Body::from_stream(stream)
}

async fn huge(State(state): State<BankState>) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    (
        [(header::CONTENT_TYPE, "text/xml")],
        lazy_gigabyte(state.streamed.clone()),
    )
        .into_response()
}

async fn huge_declared(State(state): State<BankState>) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    (
        [
            (header::CONTENT_TYPE, "text/xml".to_owned()),
            (header::CONTENT_LENGTH, HUGE_ANSWER_BYTES.to_string()),
        ],
        lazy_gigabyte(state.declared.clone()),
    )
        .into_response()
}

async fn redirect(State(state): State<BankState>) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::FOUND,
        [(header::LOCATION, state.redirect_to.clone())],
    )
        .into_response()
}

/// A plain HTTP server (standing in for the daemon's own API or an http bank) that answers
/// [`OK_ANSWER`] to any POST and counts the requests that reached it.
pub struct PlainServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl PlainServer {
    pub async fn start() -> Self {
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let app = Router::new().fallback(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                OK_ANSWER
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A minimal HTTP CONNECT proxy that records the target of every tunnel it opens.
pub struct ConnectProxy {
    pub addr: SocketAddr,
    tunnels: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    pub async fn start() -> Self {
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let recorded = tunnels.clone();
        let addr = serve_each_connection(move |client| tunnel(client, recorded.clone())).await;
        Self { addr, tunnels }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// The `host:port` of every tunnel opened so far.
    pub fn tunnels(&self) -> Vec<String> {
        self.tunnels.lock().unwrap().clone()
    }
}

async fn tunnel(client: TcpStream, tunnels: Arc<Mutex<Vec<String>>>) {
    let mut reader = BufReader::new(client);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).await.is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header).await {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" => break,
            Ok(_) => {}
        }
    }
    // The client sends nothing more before it has the 200, so the reader holds no bytes.
    let mut client = reader.into_inner();
    let mut parts = request_line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        let _ = client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    tunnels.lock().unwrap().push(target.to_owned());
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
