//! Summarising a bulk payment file, as order creation does before a signer sees it: totals,
//! counterparties and dates over every transfer. It must stay linear in the transfers (a
//! payroll or supplier run holds 100 000s); 10 000 and 100 000 transfers side by side show it.
//!
//! `cargo bench -p kontor-documents --bench payments`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kontor_documents::pain::{self, PaymentOrder};

/// One transfer, to be repeated with a creditor name of its own each time.
const ONE_TRANSFER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">
 <CstmrCdtTrfInitn>
  <GrpHdr>
   <MsgId>BULK-1</MsgId>
   <CreDtTm>2024-03-01T10:11:12</CreDtTm>
   <NbOfTxs>1</NbOfTxs>
   <CtrlSum>0.01</CtrlSum>
   <InitgPty><Nm>Muster Treasury GmbH</Nm></InitgPty>
  </GrpHdr>
  <PmtInf>
   <PmtInfId>B1</PmtInfId>
   <PmtMtd>TRF</PmtMtd>
   <NbOfTxs>1</NbOfTxs>
   <ReqdExctnDt><Dt>2024-03-04</Dt></ReqdExctnDt>
   <Dbtr><Nm>Muster Treasury GmbH</Nm></Dbtr>
   <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
   <DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></DbtrAgt>
   <CdtTrfTxInf>
    <PmtId><EndToEndId>E2E-1</EndToEndId></PmtId>
    <Amt><InstdAmt Ccy="EUR">0.01</InstdAmt></Amt>
    <Cdtr><Nm>Creditor</Nm></Cdtr>
    <CdtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></CdtrAcct>
   </CdtTrfTxInf>
  </PmtInf>
 </CstmrCdtTrfInitn>
</Document>"#;

/// A credit transfer order of `transfers` transfers, each to a creditor of its own.
fn bulk_order(transfers: usize) -> PaymentOrder {
    let mut order = pain::parse(ONE_TRANSFER).expect("the template parses");
    let info = &mut order.payment_infos[0];
    let template = info.transactions[0].clone();
    info.transactions = (0..transfers)
        .map(|i| {
            let mut transfer = template.clone();
            transfer.counterparty.name = format!("Creditor {i:08}");
            transfer
        })
        .collect();
    order
}

fn summary(c: &mut Criterion) {
    let mut group = c.benchmark_group("payments");
    group.sample_size(10);
    for transfers in [10_000, 100_000] {
        let order = bulk_order(transfers);
        group.throughput(Throughput::Elements(transfers as u64));
        group.bench_with_input(
            BenchmarkId::new("summary", transfers),
            &order,
            |b, order| b.iter(|| order.summary()),
        );
    }
    group.finish();
}

criterion_group!(benches, summary);
criterion_main!(benches);
