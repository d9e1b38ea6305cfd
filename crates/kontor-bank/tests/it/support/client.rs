//! A minimal EBICS subscriber for the emulator's tests, written directly on `kontor-protocol`
//! (never on the daemon, so the emulator and Kontor's client cannot share a bug).

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use kontor_protocol::certificate::{Certificate, CertificateSubject, KeyPurpose};
use kontor_protocol::compression;
use kontor_protocol::encryption::{self, TransactionKey};
use kontor_protocol::envelope::{
    BankPubKeyDigests, DataDigest, DataEncryptionInfo, EbicsRequest, EbicsResponse, HostId,
    InitHeader, InitialisationRequest, KeyManagementResponse, NoPubKeyDigestsRequest, Nonce,
    OrderDetails, PartnerId, PubKeyDigest, ReceiptCode, ReceiptRequest, SecurityMedium,
    SegmentNumber, SubscriberIds, TransactionId, TransferRequest, UnsecuredRequest, UploadInit,
    UserId,
};
use kontor_protocol::keys::{KeyHash, KeySize, PrivateKey, PublicKey};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{
    AuthenticationPubKeyInfo, CertificateInfo, EncryptionPubKeyInfo, H3KRequestOrderData,
    HIARequestOrderData, HPBResponseOrderData, OrderSignatureData, PubKeyInfo, PublicKeyData,
    RsaKeyValue, SignaturePubKeyOrderData, UserSignatureData, X509Data,
};
use kontor_protocol::return_code::ReturnCode;
use kontor_protocol::signature::{order_data_digest, sign_order_data};
use kontor_protocol::{
    AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion,
};
use rand::rngs::OsRng;
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::{RsaPrivateKey, RsaPublicKey};

/// A pool of RSA keys shared by all tests of a binary (generation is slow).
fn pooled_key(index: usize) -> PrivateKey {
    static POOL: [OnceLock<PrivateKey>; 24] = [const { OnceLock::new() }; 24];
    POOL[index % POOL.len()]
        .get_or_init(|| PrivateKey::generate(&mut OsRng, KeySize::Bits2048).expect("key"))
        .clone()
}

fn rsa_private(key: &PrivateKey) -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs8_der(&key.to_pkcs8_der().expect("der")).expect("rsa")
}

fn rsa_public(key: &PublicKey) -> RsaPublicKey {
    RsaPublicKey::from_public_key_der(&key.to_spki_der().expect("der")).expect("rsa")
}

/// The bank's keys as the subscriber learned them through HPB.
#[derive(Clone)]
pub struct BankKeysSeen {
    pub authentication: PublicKey,
    pub encryption: PublicKey,
    pub authentication_hash: KeyHash,
    pub encryption_hash: KeyHash,
}

/// Answers of a completed download.
#[derive(Debug)]
pub struct Download {
    pub data: Vec<u8>,
    pub num_segments: u32,
    pub receipt: EbicsResponse,
}

/// Outcome of an upload: the order id and the last answer's return codes.
#[derive(Debug)]
pub struct Upload {
    pub order_id: Option<String>,
    pub technical: ReturnCode,
    pub business: ReturnCode,
    pub last_response: EbicsResponse,
}

impl Upload {
    /// Asserts both return codes, showing the bank's report text when they differ.
    pub fn assert_codes(&self, technical: &str, business: &str) {
        assert_eq!(
            (self.technical.code(), self.business.code()),
            (technical, business),
            "{}",
            self.last_response.report_text
        );
    }

    /// The order id of an upload the bank took (business code `000000`).
    pub fn accepted_order_id(self) -> String {
        self.assert_business("000000");
        self.order_id.expect("order id")
    }

    /// Asserts the business return code, showing the bank's report text when it differs.
    pub fn assert_business(&self, code: &str) {
        assert_eq!(
            self.business.code(),
            code,
            "{}",
            self.last_response.report_text
        );
    }
}

/// One EBICS subscriber.
pub struct Subscriber {
    pub url: String,
    pub version: ProtocolVersion,
    pub host: String,
    pub partner: String,
    pub user: String,
    pub signature: PrivateKey,
    pub authentication: PrivateKey,
    pub encryption: PrivateKey,
    certificates: Option<[Certificate; 3]>,
    pub bank: Option<BankKeysSeen>,
    /// Ciphertext bytes per upload segment (small values force multi-segment uploads).
    pub upload_segment_bytes: usize,
    /// H005: announce a `DataDigest` that does not match the data (a client bug to catch).
    pub wrong_data_digest: bool,
    http: reqwest::Client,
}

impl Subscriber {
    /// A subscriber with pooled keys `key_slot*3 ..`; H005 subscribers get certificates.
    pub fn new(
        url: &str,
        version: ProtocolVersion,
        partner: &str,
        user: &str,
        key_slot: usize,
    ) -> Self {
        let signature = pooled_key(key_slot * 3);
        let authentication = pooled_key(key_slot * 3 + 1);
        let encryption = pooled_key(key_slot * 3 + 2);
        let certificates = (version == ProtocolVersion::H005).then(|| {
            let cert = |key: &PrivateKey, purpose| {
                Certificate::generate_self_signed(
                    key,
                    &CertificateSubject {
                        common_name: format!("{partner} {user}"),
                        organization: None,
                        country: None,
                    },
                    purpose,
                    Utc::now(),
                    1,
                    &mut OsRng,
                )
                .expect("certificate")
            };
            [
                cert(&signature, KeyPurpose::Signature),
                cert(&authentication, KeyPurpose::Authentication),
                cert(&encryption, KeyPurpose::Encryption),
            ]
        });
        Self {
            url: url.to_owned(),
            version,
            host: "KONTORBANK".into(),
            partner: partner.into(),
            user: user.into(),
            signature,
            authentication,
            encryption,
            certificates,
            bank: None,
            upload_segment_bytes: 1_048_576 / 4 * 3,
            wrong_data_digest: false,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .expect("client"),
        }
    }

    /// Sends these certificates with the keys (signature, authentication, encryption): on
    /// H005 instead of the self-signed ones, on H004 as `X509Data` next to the key.
    pub fn with_certificates(mut self, certificates: [Certificate; 3]) -> Self {
        self.certificates = Some(certificates);
        self
    }

    /// The letter hash of one of the subscriber's keys as the bank must have computed it.
    pub fn key_hash(&self, purpose: KeyPurpose) -> KeyHash {
        let (index, key) = self.slot(purpose);
        match &self.certificates {
            Some(certs) if self.version.uses_certificates() => {
                KeyHash::of_certificate(&certs[index])
            }
            _ => KeyHash::of_public_key(&key.public_key()),
        }
    }

    fn slot(&self, purpose: KeyPurpose) -> (usize, &PrivateKey) {
        match purpose {
            KeyPurpose::Signature => (0, &self.signature),
            KeyPurpose::Authentication => (1, &self.authentication),
            KeyPurpose::Encryption => (2, &self.encryption),
        }
    }

    /// The key of `purpose` as key documents carry it (H004: the RSA value; H005: the
    /// certificate).
    pub fn key_info(&self, purpose: KeyPurpose) -> PublicKeyData {
        let (index, key) = self.slot(purpose);
        self.key_data(index, key)
    }

    /// Takes over `other`'s key of `purpose`, as a client does once the bank accepted a key
    /// change to it.
    pub fn adopt_key(&mut self, other: &Subscriber, purpose: KeyPurpose) {
        let (index, key) = other.slot(purpose);
        let key = key.clone();
        match purpose {
            KeyPurpose::Signature => self.signature = key,
            KeyPurpose::Authentication => self.authentication = key,
            KeyPurpose::Encryption => self.encryption = key,
        }
        if let (Some(mine), Some(theirs)) = (&mut self.certificates, &other.certificates) {
            mine[index] = theirs[index].clone();
        }
    }

    /// The signature key as INI and HCS carry it (A006).
    pub fn signature_info(&self) -> PubKeyInfo<SignatureVersion> {
        PubKeyInfo {
            key: self.key_info(KeyPurpose::Signature),
            version: SignatureVersion::A006,
        }
    }

    /// The authentication key as HIA, HCA and HCS carry it (X002).
    pub fn authentication_info(&self) -> AuthenticationPubKeyInfo {
        AuthenticationPubKeyInfo {
            key: self.key_info(KeyPurpose::Authentication),
            version: AuthenticationVersion::X002,
        }
    }

    /// The encryption key as HIA, HCA and HCS carry it (E002).
    pub fn encryption_info(&self) -> EncryptionPubKeyInfo {
        EncryptionPubKeyInfo {
            key: self.key_info(KeyPurpose::Encryption),
            version: EncryptionVersion::E002,
        }
    }

    fn key_data(&self, index: usize, key: &PrivateKey) -> PublicKeyData {
        let x509 = self
            .certificates
            .as_ref()
            .map(|certs| X509Data::from_certificate(certs[index].to_der().to_vec()));
        match x509 {
            Some(x509) if self.version.uses_certificates() => PublicKeyData::Certificate(x509),
            x509 => PublicKeyData::Rsa {
                key: RsaKeyValue {
                    modulus: key.public_key().modulus(),
                    exponent: key.public_key().exponent(),
                },
                timestamp: None,
                x509,
            },
        }
    }

    pub async fn post(&self, body: Vec<u8>) -> Result<Vec<u8>, reqwest::Error> {
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "text/xml; charset=UTF-8")
            .body(body)
            .send()
            .await?
            .error_for_status()?;
        Ok(response.bytes().await?.to_vec())
    }

    async fn unsecured(&self, order_type: OrderType, document: Vec<u8>) -> KeyManagementResponse {
        let request = UnsecuredRequest {
            version: self.version,
            host_id: HostId::new(&self.host).expect("host"),
            subscriber: self.subscriber(),
            order_type,
            security_medium: SecurityMedium::new("0000").expect("medium"),
            order_data: compression::compress(&document),
        };
        let body = self
            .post(request.to_xml().expect("xml").into_bytes())
            .await
            .expect("HTTP");
        KeyManagementResponse::parse(&body).expect("key management response")
    }

    pub async fn ini(&self) -> KeyManagementResponse {
        let document = SignaturePubKeyOrderData {
            version: self.version,
            signature_pub_key_info: self.signature_info(),
            partner_id: self.partner.clone(),
            user_id: self.user.clone(),
        };
        self.unsecured(OrderType::INI, document.to_xml().expect("INI"))
            .await
    }

    pub async fn hia(&self) -> KeyManagementResponse {
        let document = HIARequestOrderData {
            version: self.version,
            authentication: self.authentication_info(),
            encryption: self.encryption_info(),
            partner_id: self.partner.clone(),
            user_id: self.user.clone(),
        };
        self.unsecured(OrderType::HIA, document.to_xml().expect("HIA"))
            .await
    }

    /// H3K as EBICS 3.0 clients send it: an `ebicsUnsignedRequest` with the ES of
    /// `signed_with` (normally the subscriber itself) over the H3K document.
    pub async fn h3k_signed(&self, signed_with: &Subscriber) -> KeyManagementResponse {
        use base64::Engine as _;
        let document = self.h3k_document().to_xml().expect("H3K");
        let mut signature = signed_with.signature_document(&[signed_with], &document);
        if signed_with.partner != self.partner || signed_with.user != self.user {
            // Claim to be the subscriber: only the key differs.
            let text = String::from_utf8(signature).expect("UTF-8").replace(
                &format!(">{}<", signed_with.user),
                &format!(">{}<", self.user),
            );
            signature = text.into_bytes();
        }
        let packed = |data: &[u8]| {
            base64::engine::general_purpose::STANDARD.encode(compression::compress(data))
        };
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ebicsUnsignedRequest xmlns="urn:org:ebics:H005" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Version="H005" Revision="1"><header authenticate="true"><static><HostID>{}</HostID><PartnerID>{}</PartnerID><UserID>{}</UserID><OrderDetails><AdminOrderType>H3K</AdminOrderType></OrderDetails><SecurityMedium>0000</SecurityMedium></static><mutable/></header><body><DataTransfer><SignatureData authenticate="true">{}</SignatureData><OrderData>{}</OrderData></DataTransfer></body></ebicsUnsignedRequest>"#,
            self.host,
            self.partner,
            self.user,
            packed(&signature),
            packed(&document),
        );
        let body = self.post(xml.into_bytes()).await.expect("HTTP");
        KeyManagementResponse::parse(&body).expect("key management response")
    }

    pub async fn h3k(&self) -> KeyManagementResponse {
        self.unsecured(OrderType::H3K, self.h3k_document().to_xml().expect("H3K"))
            .await
    }

    fn h3k_document(&self) -> H3KRequestOrderData {
        let certs = self.certificates.as_ref().expect("H3K needs certificates");
        let x509 = |i: usize| X509Data::from_certificate(certs[i].to_der().to_vec());
        H3KRequestOrderData {
            version: self.version,
            signature: CertificateInfo {
                x509: x509(0),
                version: SignatureVersion::A006,
            },
            authentication: CertificateInfo {
                x509: x509(1),
                version: AuthenticationVersion::X002,
            },
            encryption: CertificateInfo {
                x509: x509(2),
                version: EncryptionVersion::E002,
            },
            partner_id: self.partner.clone(),
            user_id: self.user.clone(),
        }
    }

    /// The subscriber as its requests name it (no system id, no product).
    fn subscriber(&self) -> SubscriberIds {
        SubscriberIds {
            partner_id: PartnerId::new(&self.partner).expect("partner"),
            user_id: UserId::new(&self.user).expect("user"),
            system_id: None,
            product: None,
        }
    }

    /// HPB; on success the bank keys are stored.
    pub async fn hpb(&mut self) -> KeyManagementResponse {
        let request = NoPubKeyDigestsRequest {
            version: self.version,
            host_id: HostId::new(&self.host).expect("host"),
            nonce: Nonce::random(&mut OsRng),
            timestamp: Utc::now(),
            subscriber: self.subscriber(),
            order_type: OrderType::HPB,
            security_medium: SecurityMedium::new("0000").expect("medium"),
        };
        let body = request
            .to_signed_xml(&rsa_private(&self.authentication))
            .expect("signed HPB");
        let body = self.post(body).await.expect("HTTP");
        let response = KeyManagementResponse::parse(&body).expect("key management response");
        if let Some(data) = &response.data_transfer {
            let compressed = encryption::decrypt(
                &self.encryption,
                &data.data_encryption_info.transaction_key,
                &data.order_data,
            )
            .expect("HPB decrypts");
            let xml = compression::decompress(&compressed, 1 << 20).expect("HPB decompresses");
            let document = HPBResponseOrderData::parse(&xml).expect("HPB document");
            let key = |data: &PublicKeyData| -> (PublicKey, KeyHash) {
                match data {
                    PublicKeyData::Rsa { key, .. } => {
                        let public = PublicKey::from_modulus_exponent(&key.modulus, &key.exponent)
                            .expect("bank key");
                        let hash = KeyHash::of_public_key(&public);
                        (public, hash)
                    }
                    PublicKeyData::Certificate(x509) => {
                        let cert = Certificate::from_der(&x509.certificate).expect("cert");
                        (cert.public_key().clone(), KeyHash::of_certificate(&cert))
                    }
                }
            };
            let (authentication, authentication_hash) = key(&document.authentication.key);
            let (encryption, encryption_hash) = key(&document.encryption.key);
            self.bank = Some(BankKeysSeen {
                authentication,
                encryption,
                authentication_hash,
                encryption_hash,
            });
        }
        response
    }

    fn bank(&self) -> &BankKeysSeen {
        self.bank.as_ref().expect("HPB first")
    }

    fn header(
        &self,
        order_details: OrderDetails,
        nonce: Nonce,
        timestamp: DateTime<Utc>,
    ) -> InitHeader {
        let bank = self.bank();
        InitHeader {
            host_id: HostId::new(&self.host).expect("host"),
            nonce,
            timestamp,
            subscriber: self.subscriber(),
            order_details,
            bank_pub_key_digests: BankPubKeyDigests {
                authentication_version: AuthenticationVersion::X002,
                authentication: PubKeyDigest::sha256(*bank.authentication_hash.as_bytes()),
                encryption_version: EncryptionVersion::E002,
                encryption: PubKeyDigest::sha256(*bank.encryption_hash.as_bytes()),
            },
            security_medium: SecurityMedium::new("0000").expect("medium"),
        }
    }

    /// Signs a request with the subscriber's X002 key.
    pub fn sign(&self, request: &EbicsRequest) -> Vec<u8> {
        request
            .to_signed_xml(&rsa_private(&self.authentication))
            .expect("signed request")
    }

    /// Sends a signed request and checks the bank's X002 signature on the answer.
    pub async fn exchange(&self, body: Vec<u8>) -> EbicsResponse {
        let answer = self.post(body).await.expect("HTTP");
        EbicsResponse::parse_verified(&answer, &rsa_public(&self.bank().authentication))
            .unwrap_or_else(|e| {
                panic!(
                    "bank answer does not verify: {e}\n{}",
                    String::from_utf8_lossy(&answer)
                )
            })
    }

    /// A download initialisation request (nonce and timestamp fresh unless given).
    pub fn download_init(&self, order_details: OrderDetails, nonce: Option<Nonce>) -> Vec<u8> {
        self.download_init_at(order_details, nonce, Utc::now())
    }

    /// A download initialisation request claiming to be made at `timestamp`.
    pub fn download_init_at(
        &self,
        order_details: OrderDetails,
        nonce: Option<Nonce>,
        timestamp: DateTime<Utc>,
    ) -> Vec<u8> {
        let request = EbicsRequest::Initialisation(Box::new(InitialisationRequest {
            version: self.version,
            header: self.header(
                order_details,
                nonce.unwrap_or_else(|| Nonce::random(&mut OsRng)),
                timestamp,
            ),
            upload: None,
        }));
        self.sign(&request)
    }

    pub fn transfer(
        &self,
        id: TransactionId,
        number: u32,
        last: bool,
        data: Option<Vec<u8>>,
    ) -> Vec<u8> {
        self.sign(&EbicsRequest::Transfer(TransferRequest {
            version: self.version,
            host_id: HostId::new(&self.host).expect("host"),
            transaction_id: id,
            segment: SegmentNumber::new(number, last).expect("segment"),
            order_data: data,
        }))
    }

    pub fn receipt(&self, id: TransactionId, acknowledged: bool) -> Vec<u8> {
        self.sign(&EbicsRequest::Receipt(ReceiptRequest {
            version: self.version,
            host_id: HostId::new(&self.host).expect("host"),
            transaction_id: id,
            receipt_code: if acknowledged {
                ReceiptCode::Acknowledged
            } else {
                ReceiptCode::NotAcknowledged
            },
        }))
    }

    /// A whole download. `Err` carries the refusing answer of the initialisation.
    pub async fn download(&self, order_details: OrderDetails) -> Result<Download, EbicsResponse> {
        let init = self.exchange(self.download_init(order_details, None)).await;
        if !init.technical_return_code.is_ok() || !init.business_return_code.is_ok() {
            return Err(init);
        }
        let id = init.transaction_id.expect("transaction id");
        let num_segments = init.num_segments.expect("NumSegments");
        let first = init.data_transfer.expect("segment 1");
        let info = first.data_encryption_info.expect("DataEncryptionInfo");
        let mut ciphertext = first.order_data;
        for number in 2..=num_segments {
            let answer = self
                .exchange(self.transfer(id, number, number == num_segments, None))
                .await;
            assert!(
                answer.technical_return_code.is_ok(),
                "segment {number}: {answer:?}"
            );
            ciphertext.extend(answer.data_transfer.expect("segment").order_data);
        }
        let compressed = encryption::decrypt(&self.encryption, &info.transaction_key, &ciphertext)
            .expect("decrypts");
        let data = compression::decompress(&compressed, 1 << 30).expect("decompresses");
        let receipt = self.exchange(self.receipt(id, true)).await;
        Ok(Download {
            data,
            num_segments,
            receipt,
        })
    }

    /// `UserSignatureData` with A006 signatures of `signers` over `data`.
    pub fn signature_document(&self, signers: &[&Subscriber], data: &[u8]) -> Vec<u8> {
        UserSignatureData {
            version: self.version,
            signatures: signers
                .iter()
                .map(|s| OrderSignatureData {
                    signature_version: SignatureVersion::A006,
                    signature_value: sign_order_data(SignatureVersion::A006, &s.signature, data)
                        .expect("A006"),
                    partner_id: s.partner.clone(),
                    user_id: s.user.clone(),
                    x509: None,
                })
                .collect(),
        }
        .to_xml()
        .expect("UserSignatureData")
    }

    /// The initialisation request of an upload and the encrypted segments to send after it.
    pub fn upload_init(
        &self,
        order_details: OrderDetails,
        data: &[u8],
        signature_xml: &[u8],
    ) -> (Vec<u8>, Vec<Vec<u8>>) {
        let bank = self.bank();
        let key = TransactionKey::generate(&mut OsRng);
        let encrypted_key = key.encrypt_for(&bank.encryption).expect("encrypt key");
        let signature_data =
            encryption::encrypt_with_key(&key, &compression::compress(signature_xml));
        let segments: Vec<Vec<u8>> = if data.is_empty() {
            Vec::new()
        } else {
            encryption::encrypt_with_key(&key, &compression::compress(data))
                .chunks(self.upload_segment_bytes)
                .map(<[u8]>::to_vec)
                .collect()
        };
        let request = EbicsRequest::Initialisation(Box::new(InitialisationRequest {
            version: self.version,
            header: self.header(order_details, Nonce::random(&mut OsRng), Utc::now()),
            upload: Some(UploadInit {
                num_segments: segments.len() as u32,
                data_encryption_info: DataEncryptionInfo {
                    encryption_version: EncryptionVersion::E002,
                    encryption_pub_key_digest: PubKeyDigest::sha256(
                        *bank.encryption_hash.as_bytes(),
                    ),
                    transaction_key: encrypted_key,
                },
                signature_data,
                data_digest: (self.version == ProtocolVersion::H005).then(|| DataDigest {
                    signature_version: SignatureVersion::A006,
                    digest: if self.wrong_data_digest {
                        order_data_digest(b"something else").to_vec()
                    } else {
                        order_data_digest(data).to_vec()
                    },
                }),
                additional_order_info: None,
            }),
        }));
        (self.sign(&request), segments)
    }

    /// A whole upload signed by `signers` (empty `data`: a signature-only order like HVE).
    pub async fn upload(
        &self,
        order_details: OrderDetails,
        data: &[u8],
        signers: &[&Subscriber],
        signed_data: Option<&[u8]>,
    ) -> Upload {
        let signature_xml = self.signature_document(signers, signed_data.unwrap_or(data));
        let (init_body, segments) = self.upload_init(order_details, data, &signature_xml);
        let init = self.exchange(init_body).await;
        let order_id = init.order_id.as_ref().map(|o| o.as_str().to_owned());
        if segments.is_empty()
            || !init.technical_return_code.is_ok()
            || !init.business_return_code.is_ok()
        {
            return Upload {
                order_id,
                technical: init.technical_return_code.clone(),
                business: init.business_return_code.clone(),
                last_response: init,
            };
        }
        let id = init.transaction_id.expect("transaction id");
        let count = segments.len() as u32;
        let mut last = None;
        for (index, segment) in segments.into_iter().enumerate() {
            let number = index as u32 + 1;
            let body = self.transfer(id, number, number == count, Some(segment));
            let answer = self.exchange(body).await;
            let failed =
                !answer.technical_return_code.is_ok() || !answer.business_return_code.is_ok();
            last = Some(answer);
            if failed {
                break;
            }
        }
        let last_response = last.expect("at least one segment");
        Upload {
            order_id: last_response
                .order_id
                .as_ref()
                .map(|o| o.as_str().to_owned())
                .or(order_id),
            technical: last_response.technical_return_code.clone(),
            business: last_response.business_return_code.clone(),
            last_response,
        }
    }
}

/// INI + HIA (or H3K for H005 when `h3k`), clerk activation, HPB.
pub async fn ready_subscriber(
    bank: &kontor_bank::RunningBank,
    version: ProtocolVersion,
    partner: &str,
    user: &str,
    key_slot: usize,
) -> Subscriber {
    let mut s = Subscriber::new(&bank.ebics_url(), version, partner, user, key_slot);
    assert!(s.ini().await.technical_return_code.is_ok(), "INI");
    assert!(s.hia().await.technical_return_code.is_ok(), "HIA");
    bank.activate_user(&partner.parse().expect("id"), &user.parse().expect("id"))
        .expect("activation");
    let hpb = s.hpb().await;
    assert!(hpb.technical_return_code.is_ok(), "HPB: {hpb:?}");
    s
}
