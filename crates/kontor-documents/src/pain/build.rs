//! pain.001 / pain.008 writer.

use super::{PainError, PainVersion, PaymentInfo, PaymentKind, PaymentOrder, Transaction};
use crate::amount::Amount;
use crate::bic::Bic;
use crate::datetime::{format_iso_date, format_iso_datetime};
use crate::xml::writer::XmlWriter;

/// Validates the order and writes it in `order.version`, with `NbOfTxs` and `CtrlSum` computed
/// for the group header and every `PmtInf`. Amounts are written with the currency's decimals.
/// A party without BIC gets `<FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId>`
/// (EPC "IBAN only").
pub fn build(order: &PaymentOrder) -> Result<String, PainError> {
    order.validate()?;
    let version = order.version;
    let kind = version.kind();
    let mut w = XmlWriter::new(1_024 + order.number_of_transactions() * 900);
    w.open_with(
        "Document",
        &[
            ("xmlns", version.namespace()),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
        ],
    );
    w.open(version.message_element());
    w.open("GrpHdr");
    w.leaf("MsgId", &order.message_id);
    w.leaf("CreDtTm", &format_iso_datetime(&order.created));
    w.leaf("NbOfTxs", &order.number_of_transactions().to_string());
    w.leaf("CtrlSum", &control_sum_text(order.control_sum()));
    w.open("InitgPty");
    if let Some(name) = &order.initiating_party {
        w.leaf("Nm", name);
    }
    w.close();
    w.close();
    for info in &order.payment_infos {
        write_payment_info(&mut w, info, version, kind);
    }
    Ok(w.finish())
}

/// `CtrlSum` is a plain decimal; at least two decimals for readability.
fn control_sum_text(sum: Amount) -> String {
    let mut value = sum.as_decimal().normalize();
    if value.scale() < 2 {
        value.rescale(2);
    }
    value.to_string()
}

fn write_payment_info(
    w: &mut XmlWriter,
    info: &PaymentInfo,
    version: PainVersion,
    kind: PaymentKind,
) {
    w.open("PmtInf");
    w.leaf("PmtInfId", &info.id);
    w.leaf(
        "PmtMtd",
        match kind {
            PaymentKind::CreditTransfer => "TRF",
            PaymentKind::DirectDebit => "DD",
        },
    );
    if let Some(batch) = info.batch_booking {
        w.leaf("BtchBookg", if batch { "true" } else { "false" });
    }
    w.leaf("NbOfTxs", &info.transactions.len().to_string());
    let sum: Amount = info.transactions.iter().map(|t| t.amount).sum();
    w.leaf("CtrlSum", &control_sum_text(sum));
    let has_type_info = info.service_level.is_some()
        || info.local_instrument.is_some()
        || info.sequence_type.is_some()
        || info.category_purpose.is_some();
    if has_type_info {
        w.open("PmtTpInf");
        if let Some(code) = &info.service_level {
            w.open("SvcLvl");
            w.leaf("Cd", code);
            w.close();
        }
        if let Some(code) = &info.local_instrument {
            w.open("LclInstrm");
            w.leaf("Cd", code);
            w.close();
        }
        if let Some(sequence) = info.sequence_type {
            w.leaf("SeqTp", sequence.code());
        }
        if let Some(code) = &info.category_purpose {
            w.open("CtgyPurp");
            w.leaf("Cd", code);
            w.close();
        }
        w.close();
    }
    let date = format_iso_date(&info.requested_date);
    match kind {
        PaymentKind::CreditTransfer if version.execution_date_is_choice() => {
            w.open("ReqdExctnDt");
            w.leaf("Dt", &date);
            w.close();
        }
        PaymentKind::CreditTransfer => w.leaf("ReqdExctnDt", &date),
        PaymentKind::DirectDebit => w.leaf("ReqdColltnDt", &date),
    }
    let (party, account, agent) = match kind {
        PaymentKind::CreditTransfer => ("Dbtr", "DbtrAcct", "DbtrAgt"),
        PaymentKind::DirectDebit => ("Cdtr", "CdtrAcct", "CdtrAgt"),
    };
    write_name(w, party, &info.account.name);
    write_account(w, account, info.account.iban.electronic());
    write_agent(w, agent, info.account.bic.as_ref(), version);
    if let Some(bearer) = &info.charge_bearer {
        w.leaf("ChrgBr", bearer);
    }
    if let Some(scheme_id) = &info.creditor_scheme_id {
        w.open("CdtrSchmeId");
        w.open("Id");
        w.open("PrvtId");
        w.open("Othr");
        w.leaf("Id", scheme_id);
        w.open("SchmeNm");
        w.leaf("Prtry", "SEPA");
        w.close();
        w.close();
        w.close();
        w.close();
        w.close();
    }
    for tx in &info.transactions {
        match kind {
            PaymentKind::CreditTransfer => write_credit_transfer(w, tx, version),
            PaymentKind::DirectDebit => write_direct_debit(w, tx, version),
        }
    }
    w.close();
}

fn write_payment_id(w: &mut XmlWriter, tx: &Transaction) {
    w.open("PmtId");
    if let Some(id) = &tx.instruction_id {
        w.leaf("InstrId", id);
    }
    w.leaf("EndToEndId", &tx.end_to_end_id);
    w.close();
}

fn write_instructed_amount(w: &mut XmlWriter, tx: &Transaction) {
    w.leaf_with(
        "InstdAmt",
        &[("Ccy", tx.currency.as_str())],
        &tx.amount.format_for(tx.currency),
    );
}

fn write_credit_transfer(w: &mut XmlWriter, tx: &Transaction, version: PainVersion) {
    w.open("CdtTrfTxInf");
    write_payment_id(w, tx);
    w.open("Amt");
    write_instructed_amount(w, tx);
    w.close();
    if tx.counterparty.bic.is_some() {
        write_agent(w, "CdtrAgt", tx.counterparty.bic.as_ref(), version);
    }
    write_name(w, "Cdtr", &tx.counterparty.name);
    write_account(w, "CdtrAcct", tx.counterparty.iban.electronic());
    write_remittance(w, tx);
    w.close();
}

fn write_direct_debit(w: &mut XmlWriter, tx: &Transaction, version: PainVersion) {
    w.open("DrctDbtTxInf");
    write_payment_id(w, tx);
    write_instructed_amount(w, tx);
    if let Some(mandate) = &tx.mandate {
        w.open("DrctDbtTx");
        w.open("MndtRltdInf");
        w.leaf("MndtId", &mandate.id);
        w.leaf("DtOfSgntr", &format_iso_date(&mandate.signature_date));
        w.close();
        w.close();
    }
    // DbtrAgt is mandatory in pain.008.
    write_agent(w, "DbtrAgt", tx.counterparty.bic.as_ref(), version);
    write_name(w, "Dbtr", &tx.counterparty.name);
    write_account(w, "DbtrAcct", tx.counterparty.iban.electronic());
    write_remittance(w, tx);
    w.close();
}

fn write_name(w: &mut XmlWriter, element: &'static str, name: &str) {
    w.open(element);
    w.leaf("Nm", name);
    w.close();
}

fn write_account(w: &mut XmlWriter, element: &'static str, iban: &str) {
    w.open(element);
    w.open("Id");
    w.leaf("IBAN", iban);
    w.close();
    w.close();
}

fn write_agent(w: &mut XmlWriter, element: &'static str, bic: Option<&Bic>, version: PainVersion) {
    w.open(element);
    w.open("FinInstnId");
    match bic {
        Some(bic) => w.leaf(version.bic_element(), bic.as_str()),
        None => {
            w.open("Othr");
            w.leaf("Id", "NOTPROVIDED");
            w.close();
        }
    }
    w.close();
    w.close();
}

fn write_remittance(w: &mut XmlWriter, tx: &Transaction) {
    if let Some(text) = &tx.remittance {
        w.open("RmtInf");
        w.leaf("Ustrd", text);
        w.close();
    }
}
