//! The daemon's own keys for a signer-custody user: authentication (X002) and encryption
//! (E002). The signer keeps the signature key; these two stay with the daemon, encrypted under
//! the master key. The admin API has no route that generates them yet, so the demo stores
//! them through the storage layer, as an installer would.

use chrono::Utc;
use kontor_protocol::certificate::{Certificate, CertificateSubject, KeyPurpose};
use kontor_protocol::keys::{public_key_hash, KeyPair, KeySize};
use kontor_protocol::{AuthenticationVersion, EncryptionVersion, ProtocolVersion};
use kontor_storage::{EbicsUserId, KeyUsage, NewKeyPair, Store, TenantScope};

/// Generates and stores the X002 and E002 key pairs of `user` (with certificates for H005).
pub async fn generate_and_store(
    store: &Store,
    scope: &TenantScope,
    user: EbicsUserId,
    holder: &str,
    version: ProtocolVersion,
) -> anyhow::Result<()> {
    let subject = CertificateSubject {
        common_name: holder.to_owned(),
        organization: Some("Muster Maschinenbau GmbH".into()),
        country: Some("DE".into()),
    };
    // RSA generation is CPU-bound: keep it off the async workers.
    let generated = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut rng = rand::rngs::OsRng;
        let mut one = |purpose| -> anyhow::Result<(KeyPair, Certificate)> {
            let pair = KeyPair::generate(&mut rng, KeySize::Bits2048)?;
            let now = Utc::now();
            let cert = Certificate::generate_self_signed(
                pair.private_key(),
                &subject,
                purpose,
                now,
                5,
                &mut rng,
            )?;
            Ok((pair, cert))
        };
        Ok([
            (
                KeyUsage::Authentication,
                AuthenticationVersion::X002.as_str(),
                one(KeyPurpose::Authentication)?,
            ),
            (
                KeyUsage::Encryption,
                EncryptionVersion::E002.as_str(),
                one(KeyPurpose::Encryption)?,
            ),
        ])
    })
    .await??;
    // H004 hashes the bare key; H005 hashes the certificate, which then travels with the key.
    let with_cert = matches!(version, ProtocolVersion::H005 | ProtocolVersion::H006);
    let mut tx = store.scope(scope).begin().await?;
    for (usage, key_version, (pair, cert)) in generated {
        let hash = public_key_hash(version, pair.public_key(), with_cert.then_some(&cert))?;
        tx.key_pairs()
            .create(NewKeyPair {
                ebics_user_id: user,
                usage,
                version: key_version.into(),
                public_key: pair.public_key().to_spki_der()?,
                private_key_pkcs8: pair.private_key().to_pkcs8_der()?,
                key_hash: hash.to_hex_upper(),
                certificate: with_cert.then(|| cert.to_der().to_vec()),
            })
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
