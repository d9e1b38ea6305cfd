//! The X002 authentication signature: XML-DSig over the `authenticate="true"` subset.
//!
//! EBICS (H004/H005, chapter "Authentication signature") fixes every parameter:
//! - one `ds:Reference` with `URI="#xpointer(//*[@authenticate='true'])"` and one
//!   Canonical XML 1.0 transform; digest SHA-256;
//! - `ds:SignedInfo` canonicalised with Canonical XML 1.0 (inclusive, without comments) *in its
//!   context*, i.e. declaring every namespace in scope (the EBICS default namespace included);
//! - signature RSA PKCS#1 v1.5 over SHA-256 (`rsa-sha256`);
//! - the `AuthSignature` element sits between `header` and `body`.
//!
//! [`sign`] works on any EBICS document text: it removes an existing `AuthSignature`, computes
//! the digest, inserts a fresh `AuthSignature` right after the root's `header` child and fills in
//! the signature value. [`verify`] checks algorithms, digest and signature and reports each
//! failure as its own [`XmlDsigError`] variant.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use roxmltree::{Document, Node};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::c14n::{self, C14nError};
use kontor_xml::ReadError;

/// The XML-DSig namespace.
pub const DS_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Canonical XML 1.0 (inclusive, without comments).
pub const C14N_ALGORITHM: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// RSA PKCS#1 v1.5 with SHA-256.
pub const RSA_SHA256_ALGORITHM: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// SHA-256 digest.
pub const SHA256_ALGORITHM: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// The only reference URI X002 uses.
pub const AUTHENTICATED_REFERENCE_URI: &str = "#xpointer(//*[@authenticate='true'])";

/// Why a document could not be signed or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlDsigError {
    /// The document is not readable under the XML policy (not well-formed, a DTD, or beyond
    /// the limits of `kontor-xml`).
    #[error(transparent)]
    Malformed(ReadError),
    /// No element carries `authenticate="true"`, so nothing would be authenticated.
    #[error("no element is marked authenticate=\"true\"")]
    NothingAuthenticated,
    /// The root element has no `header` child after which `AuthSignature` could go.
    #[error("the root element has no header child")]
    MissingHeader,
    /// The document has no `AuthSignature` element under its root.
    #[error("AuthSignature is missing")]
    MissingAuthSignature,
    /// More than one `AuthSignature` under the root.
    #[error("more than one AuthSignature")]
    DuplicateAuthSignature,
    /// A required part of the signature is missing or malformed.
    #[error("malformed AuthSignature: {0}")]
    MalformedSignature(String),
    /// An algorithm other than the ones X002 prescribes.
    #[error("unsupported algorithm {algorithm:?} in {element}")]
    UnsupportedAlgorithm {
        element: &'static str,
        algorithm: String,
    },
    /// A reference other than the single X002 xpointer reference.
    #[error("unsupported reference: {0}")]
    UnsupportedReference(String),
    /// The digest of the authenticated elements differs from `DigestValue`: an authenticated
    /// element was changed after signing.
    #[error("digest of the authenticated elements does not match DigestValue")]
    DigestMismatch,
    /// The RSA signature over `SignedInfo` does not verify with the given key.
    #[error("signature value does not verify with the peer's authentication key")]
    BadSignature,
    /// The RSA operation failed (e.g. key too small for SHA-256 PKCS#1 v1.5).
    #[error("signing failed: {0}")]
    Signing(String),
}

impl From<C14nError> for XmlDsigError {
    fn from(e: C14nError) -> Self {
        match e {
            C14nError::Malformed(m) => XmlDsigError::Malformed(m),
            C14nError::NothingSelected(_) => XmlDsigError::NothingAuthenticated,
        }
    }
}

/// SHA-256 of the canonicalised authenticated subset of a document.
pub fn authenticated_digest(xml: &str) -> Result<[u8; 32], XmlDsigError> {
    let doc = c14n::parse(xml)?;
    digest_of(&doc)
}

fn digest_of(doc: &Document<'_>) -> Result<[u8; 32], XmlDsigError> {
    let canonical = c14n::authenticated_bytes(doc)?;
    Ok(Sha256::digest(&canonical).into())
}

/// Signs an EBICS document with the X002 key and returns the signed document.
///
/// Any existing `AuthSignature` directly under the root is replaced. The new one is inserted
/// right after the root's `header` child, as all EBICS request and response schemas require.
pub fn sign(xml: &str, key: &RsaPrivateKey) -> Result<String, XmlDsigError> {
    // 1. The document without any AuthSignature; the digest never depends on it because it
    //    carries no authenticate marker, but removing it keeps re-signing idempotent.
    let (base, insert_at, root_prefix, ds_binding) = {
        let doc = c14n::parse(xml)?;
        let root = doc.root_element();
        let existing = auth_signatures(root);
        if existing.len() > 1 {
            return Err(XmlDsigError::DuplicateAuthSignature);
        }
        let header = root
            .children()
            .find(|n| n.is_element() && n.tag_name().name() == "header")
            .ok_or(XmlDsigError::MissingHeader)?;
        let root_prefix = qname_prefix(xml, root).to_owned();
        let ds_binding = ds_prefix(root, &root_prefix);
        match existing.first() {
            Some(sig) => {
                let range = sig.range();
                let mut base = String::with_capacity(xml.len());
                base.push_str(&xml[..range.start]);
                base.push_str(&xml[range.end..]);
                let insert_at = if header.range().end <= range.start {
                    header.range().end
                } else {
                    header.range().end - (range.end - range.start)
                };
                (base, insert_at, root_prefix, ds_binding)
            }
            None => (xml.to_owned(), header.range().end, root_prefix, ds_binding),
        }
    };

    // 2. Digest of the authenticated subset.
    let digest = {
        let doc = c14n::parse(&base)?;
        digest_of(&doc)?
    };
    let signed_info = signed_info_markup(&ds_binding.prefix, &B64.encode(digest));

    // 3. Canonicalise SignedInfo in the context it will have in the final document.
    let draft = splice(
        &base,
        insert_at,
        &root_prefix,
        &ds_binding,
        &signed_info,
        "",
    );
    let signed_info_c14n = {
        let doc = c14n::parse(&draft)?;
        let node = doc
            .descendants()
            .find(|n| is_ds(*n, "SignedInfo"))
            .ok_or_else(|| XmlDsigError::MalformedSignature("SignedInfo not found".into()))?;
        c14n::subtree_bytes(&draft, node)
    };

    // 4. RSA PKCS#1 v1.5 over SHA-256 of the canonical SignedInfo (blinded).
    let hashed = Sha256::digest(&signed_info_c14n);
    let signature = key
        .sign_with_rng(
            &mut rand::thread_rng(),
            Pkcs1v15Sign::new::<Sha256>(),
            &hashed,
        )
        .map_err(|e| XmlDsigError::Signing(e.to_string()))?;

    Ok(splice(
        &base,
        insert_at,
        &root_prefix,
        &ds_binding,
        &signed_info,
        &B64.encode(signature),
    ))
}

/// Verifies the X002 signature of an EBICS document with the peer's authentication key.
pub fn verify(xml: &str, key: &RsaPublicKey) -> Result<(), XmlDsigError> {
    let doc = c14n::parse(xml)?;
    let root = doc.root_element();
    let sigs = auth_signatures(root);
    let sig = match sigs.as_slice() {
        [] => return Err(XmlDsigError::MissingAuthSignature),
        [one] => *one,
        _ => return Err(XmlDsigError::DuplicateAuthSignature),
    };
    let signed_info = ds_child(sig, "SignedInfo")?;
    let signature_value = ds_child(sig, "SignatureValue")?;

    let children: Vec<Node<'_, '_>> = signed_info.children().filter(|n| n.is_element()).collect();
    let [c14n_method, signature_method, references @ ..] = children.as_slice() else {
        return Err(XmlDsigError::MalformedSignature(
            "SignedInfo lacks CanonicalizationMethod or SignatureMethod".into(),
        ));
    };
    expect_algorithm(*c14n_method, "CanonicalizationMethod", C14N_ALGORITHM)?;
    expect_algorithm(*signature_method, "SignatureMethod", RSA_SHA256_ALGORITHM)?;
    let reference = match references {
        [one] if is_ds(*one, "Reference") => *one,
        [] => return Err(XmlDsigError::MalformedSignature("no Reference".into())),
        _ => {
            return Err(XmlDsigError::UnsupportedReference(
                "exactly one Reference is allowed".into(),
            ))
        }
    };
    let uri = reference.attribute("URI").unwrap_or("");
    if uri != AUTHENTICATED_REFERENCE_URI {
        return Err(XmlDsigError::UnsupportedReference(uri.to_owned()));
    }
    let mut parts = reference.children().filter(|n| n.is_element()).peekable();
    if let Some(transforms) = parts.next_if(|n| is_ds(*n, "Transforms")) {
        for transform in transforms.children().filter(|n| n.is_element()) {
            expect_algorithm(transform, "Transform", C14N_ALGORITHM)?;
        }
    }
    let digest_method = parts
        .next()
        .filter(|n| is_ds(*n, "DigestMethod"))
        .ok_or_else(|| XmlDsigError::MalformedSignature("DigestMethod missing".into()))?;
    expect_algorithm(digest_method, "DigestMethod", SHA256_ALGORITHM)?;
    let digest_value = parts
        .next()
        .filter(|n| is_ds(*n, "DigestValue"))
        .ok_or_else(|| XmlDsigError::MalformedSignature("DigestValue missing".into()))?;
    let expected_digest = decode_b64(digest_value, "DigestValue")?;

    let actual_digest = digest_of(&doc)?;
    if expected_digest.as_slice() != actual_digest.as_slice() {
        return Err(XmlDsigError::DigestMismatch);
    }

    let signature = decode_b64(signature_value, "SignatureValue")?;
    let hashed = Sha256::digest(c14n::subtree_bytes(xml, signed_info));
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &signature)
        .map_err(|_| XmlDsigError::BadSignature)
}

fn is_ds(node: Node<'_, '_>, local: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == local
        && node.tag_name().namespace() == Some(DS_NAMESPACE)
}

fn ds_child<'a, 'input>(
    parent: Node<'a, 'input>,
    local: &'static str,
) -> Result<Node<'a, 'input>, XmlDsigError> {
    parent
        .children()
        .find(|n| is_ds(*n, local))
        .ok_or_else(|| XmlDsigError::MalformedSignature(format!("{local} missing")))
}

fn expect_algorithm(
    node: Node<'_, '_>,
    element: &'static str,
    expected: &str,
) -> Result<(), XmlDsigError> {
    if !is_ds(node, element) {
        return Err(XmlDsigError::MalformedSignature(format!(
            "expected {element}, found {}",
            node.tag_name().name()
        )));
    }
    match node.attribute("Algorithm") {
        Some(a) if a == expected => Ok(()),
        other => Err(XmlDsigError::UnsupportedAlgorithm {
            element,
            algorithm: other.unwrap_or("").to_owned(),
        }),
    }
}

fn decode_b64(node: Node<'_, '_>, element: &str) -> Result<Vec<u8>, XmlDsigError> {
    let text: String = node
        .text()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    B64.decode(text.as_bytes())
        .map_err(|_| XmlDsigError::MalformedSignature(format!("{element} is not base64")))
}

/// `AuthSignature` elements directly under the root (any namespace: EBICS puts it in the
/// protocol namespace, which differs per version).
fn auth_signatures<'a, 'input>(root: Node<'a, 'input>) -> Vec<Node<'a, 'input>> {
    root.children()
        .filter(|n| n.is_element() && n.tag_name().name() == "AuthSignature")
        .collect()
}

/// The prefix part of an element's qualified name as written in the source.
fn qname_prefix<'a>(text: &'a str, node: Node<'_, '_>) -> &'a str {
    let start = node.range().start + 1;
    let rest = text.get(start..).unwrap_or("");
    let end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    match rest[..end].split_once(':') {
        Some((prefix, _)) => prefix,
        None => "",
    }
}

/// How the inserted signature refers to the XML-DSig namespace.
struct DsBinding {
    prefix: String,
    /// Whether `AuthSignature` must declare the prefix itself.
    declare: bool,
}

fn ds_prefix(root: Node<'_, '_>, root_prefix: &str) -> DsBinding {
    let bound = root
        .namespaces()
        .find(|ns| ns.uri() == DS_NAMESPACE && ns.name().is_some_and(|p| p != root_prefix))
        .and_then(|ns| ns.name());
    match bound {
        Some(prefix) => DsBinding {
            prefix: prefix.to_owned(),
            declare: false,
        },
        None => DsBinding {
            prefix: if root_prefix == "ds" { "dsig" } else { "ds" }.to_owned(),
            declare: true,
        },
    }
}

fn signed_info_markup(ds: &str, digest_b64: &str) -> String {
    format!(
        "<{ds}:SignedInfo>\
<{ds}:CanonicalizationMethod Algorithm=\"{C14N_ALGORITHM}\"/>\
<{ds}:SignatureMethod Algorithm=\"{RSA_SHA256_ALGORITHM}\"/>\
<{ds}:Reference URI=\"{AUTHENTICATED_REFERENCE_URI}\">\
<{ds}:Transforms><{ds}:Transform Algorithm=\"{C14N_ALGORITHM}\"/></{ds}:Transforms>\
<{ds}:DigestMethod Algorithm=\"{SHA256_ALGORITHM}\"/>\
<{ds}:DigestValue>{digest_b64}</{ds}:DigestValue>\
</{ds}:Reference>\
</{ds}:SignedInfo>"
    )
}

fn splice(
    base: &str,
    at: usize,
    root_prefix: &str,
    ds: &DsBinding,
    signed_info: &str,
    signature_b64: &str,
) -> String {
    let name = if root_prefix.is_empty() {
        "AuthSignature".to_owned()
    } else {
        format!("{root_prefix}:AuthSignature")
    };
    let declaration = if ds.declare {
        format!(" xmlns:{}=\"{DS_NAMESPACE}\"", ds.prefix)
    } else {
        String::new()
    };
    let p = &ds.prefix;
    let mut out = String::with_capacity(base.len() + 1024);
    out.push_str(&base[..at]);
    out.push_str(&format!(
        "<{name}{declaration}>{signed_info}<{p}:SignatureValue>{signature_b64}</{p}:SignatureValue></{name}>"
    ));
    out.push_str(&base[at..]);
    out
}
