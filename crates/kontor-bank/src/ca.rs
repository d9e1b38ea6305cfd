//! The emulator's small test CA: the bank issues certificates for subscriber keys, as French
//! banks and banks that take H3K do, and (per subscriber, see
//! [`crate::state::Subscriber::bank_issued_certificates`]) accepts only keys whose
//! certificates it issued. One CA per process, generated on first use; tests fetch its
//! certificate and have certificates issued through the admin API (`/admin/ca`).

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use kontor_protocol::certificate::{
    Certificate, CertificateError, CertificateSubject, KeyPurpose, ValidityPeriod,
};
use kontor_protocol::keys::{KeyPair, KeySize, PublicKey};

/// The CA's key and self-signed certificate.
pub struct TestCa {
    key: KeyPair,
    certificate: Certificate,
}

/// How long the certificates the CA issues are valid.
const ISSUED_VALIDITY_YEARS: u32 = 2;

impl TestCa {
    /// The process's CA, generated on first use.
    pub fn get() -> &'static TestCa {
        static CA: OnceLock<TestCa> = OnceLock::new();
        CA.get_or_init(|| {
            let mut rng = rand::rngs::OsRng;
            let key = KeyPair::generate(&mut rng, KeySize::Bits2048)
                .expect("RSA key generation for the test CA");
            let certificate = Certificate::generate_ca(
                key.private_key(),
                &CertificateSubject {
                    common_name: "Kontor Bank Test CA".into(),
                    organization: Some("Kontor Bank Emulator".into()),
                    country: Some("FR".into()),
                },
                Utc::now(),
                10,
                &mut rng,
            )
            .expect("test CA certificate");
            TestCa { key, certificate }
        })
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// Issues a certificate for a subscriber's public key.
    pub fn issue(
        &self,
        public_key: &PublicKey,
        common_name: &str,
        purpose: KeyPurpose,
        now: DateTime<Utc>,
    ) -> Result<Certificate, CertificateError> {
        self.certificate.issue(
            self.key.private_key(),
            public_key,
            &CertificateSubject {
                common_name: common_name.to_owned(),
                organization: None,
                country: None,
            },
            purpose,
            ValidityPeriod::new(now, ISSUED_VALIDITY_YEARS),
            &mut rand::rngs::OsRng,
        )
    }

    /// Whether this CA issued `certificate`.
    pub fn issued(&self, certificate: &Certificate) -> bool {
        certificate.is_issued_by(&self.certificate)
    }
}
