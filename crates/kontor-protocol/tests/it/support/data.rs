//! Order data of realistic size and shape, shared by the segmentation tests and the
//! `segment_pipeline` benchmark (which includes this file by path).

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// `len` bytes of incompressible data.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

/// At least `len` bytes of camt.053-like XML that compresses like real statements.
pub fn camt_like_xml(len: usize) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut xml = String::with_capacity(len + 2048);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\n<BkToCstmrStmt>\n");
    let mut entry = 0u64;
    while xml.len() < len {
        entry += 1;
        let amount = rng.next_u32() % 1_000_000;
        let reference = rng.next_u64();
        let iban_tail = rng.next_u64() % 10_000_000_000;
        let credit = rng.next_u32() % 2 == 0;
        xml.push_str(&format!(
            "  <Ntry>\n    <NtryRef>{entry}</NtryRef>\n    <Amt Ccy=\"EUR\">{}.{:02}</Amt>\n    <CdtDbtInd>{}</CdtDbtInd>\n    <Sts><Cd>BOOK</Cd></Sts>\n    <BookgDt><Dt>2025-03-{:02}</Dt></BookgDt>\n    <ValDt><Dt>2025-03-{:02}</Dt></ValDt>\n    <AcctSvcrRef>{reference:016X}</AcctSvcrRef>\n    <NtryDtls><TxDtls>\n      <Refs><EndToEndId>E2E-{reference:X}</EndToEndId></Refs>\n      <RltdPties><Dbtr><Pty><Nm>Kunde {}</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>DE89370400440{iban_tail:010}</IBAN></Id></DbtrAcct></RltdPties>\n      <RmtInf><Ustrd>Rechnung {} vom 2025-03-{:02}</Ustrd></RmtInf>\n    </TxDtls></NtryDtls>\n  </Ntry>\n",
            amount / 100,
            amount % 100,
            if credit { "CRDT" } else { "DBIT" },
            1 + entry % 28,
            1 + (entry + 1) % 28,
            rng.next_u32() % 5000,
            rng.next_u32() % 100_000,
            1 + entry % 28,
        ));
    }
    xml.push_str("</BkToCstmrStmt>\n</Document>\n");
    xml.into_bytes()
}
