//! pain.001 / pain.008 reader.

use super::{
    AccountParty, Mandate, PainError, PainVersion, PaymentInfo, PaymentKind, PaymentOrder,
    SequenceType, Transaction,
};
use crate::amount::Amount;
use crate::xml::reader::{decode_utf8, document_root, parse_document, Cursor, Element, XmlError};

/// Parses pain bytes (UTF-8, optional byte order mark).
pub fn parse_bytes(bytes: &[u8]) -> Result<PaymentOrder, PainError> {
    parse(decode_utf8(bytes)?)
}

/// Parses and validates a pain.001 or pain.008 document.
///
/// Checks, in order: well-formed XML, a supported namespace, mandatory elements, valid IBANs,
/// BICs, amounts and dates, `NbOfTxs`/`CtrlSum` of the group header and of every `PmtInf`
/// (when given) against the transactions, then [`PaymentOrder::validate`].
pub fn parse(xml: &str) -> Result<PaymentOrder, PainError> {
    let doc = parse_document(xml)?;
    let (root, namespace) = document_root(&doc)?;
    let version =
        PainVersion::from_namespace(namespace).ok_or_else(|| XmlError::UnsupportedNamespace {
            found: namespace.to_string(),
            expected: PainVersion::ALL
                .iter()
                .map(|v| v.namespace())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let message = Cursor::new(root, namespace).req(version.message_element())?;
    let header = message.req("GrpHdr")?;
    let message_id = header.req_text("MsgId")?.to_string();
    let created = header.req("CreDtTm")?.datetime()?;
    let declared_count = header.req("NbOfTxs")?.unsigned()?;
    let declared_sum = header.child("CtrlSum").map(|c| c.amount()).transpose()?;
    let initiating_party = header.req("InitgPty")?.child_text("Nm").map(str::to_string);

    let mut payment_infos = Vec::new();
    for (index, info) in message.children("PmtInf").enumerate() {
        payment_infos.push(parse_payment_info(info, version, index)?);
    }
    if payment_infos.is_empty() {
        return Err(XmlError::MissingElement {
            path: format!("Document/{}/PmtInf", version.message_element()),
        }
        .into());
    }
    let order = PaymentOrder {
        version,
        message_id,
        created,
        initiating_party,
        payment_infos,
    };
    check_declared(
        "GrpHdr",
        declared_count,
        declared_sum,
        order.number_of_transactions(),
        order.control_sum(),
    )?;
    order.validate()?;
    Ok(order)
}

fn check_declared(
    scope: &str,
    declared_count: u64,
    declared_sum: Option<Amount>,
    actual_count: usize,
    actual_sum: Amount,
) -> Result<(), PainError> {
    if declared_count != actual_count as u64 {
        return Err(PainError::TransactionCountMismatch {
            scope: scope.to_string(),
            declared: declared_count,
            actual: actual_count as u64,
        });
    }
    if let Some(declared) = declared_sum {
        if declared != actual_sum {
            return Err(PainError::ControlSumMismatch {
                scope: scope.to_string(),
                declared,
                actual: actual_sum,
            });
        }
    }
    Ok(())
}

fn parse_payment_info(
    info: Cursor<'_, '_>,
    version: PainVersion,
    index: usize,
) -> Result<PaymentInfo, PainError> {
    let kind = version.kind();
    let id = info.req_text("PmtInfId")?.to_string();
    let method_node = info.req("PmtMtd")?;
    let method = method_node.text()?;
    let expected_method = match kind {
        PaymentKind::CreditTransfer => &["TRF", "TRA", "CHK"][..],
        PaymentKind::DirectDebit => &["DD"][..],
    };
    if !expected_method.contains(&method) {
        return Err(method_node
            .invalid(method, "payment method for this message")
            .into());
    }
    let batch_booking = info.child("BtchBookg").map(|c| c.boolean()).transpose()?;
    let type_info = info.child("PmtTpInf");
    let type_code = |path: &[&str]| -> Option<String> {
        type_info
            .and_then(|t| t.path_text(path))
            .map(str::to_string)
    };
    let service_level = type_code(&["SvcLvl", "Cd"]);
    let local_instrument = type_code(&["LclInstrm", "Cd"]);
    let category_purpose = type_code(&["CtgyPurp", "Cd"]);

    let (party, account, agent, date_element) = match kind {
        PaymentKind::CreditTransfer => ("Dbtr", "DbtrAcct", "DbtrAgt", "ReqdExctnDt"),
        PaymentKind::DirectDebit => ("Cdtr", "CdtrAcct", "CdtrAgt", "ReqdColltnDt"),
    };
    let requested_date = info.req(date_element)?.date_or_choice()?;
    let account = parse_party(info, party, account, agent)?;
    let charge_bearer = info.child_text("ChrgBr").map(str::to_string);

    let tx_element = version.transaction_element();
    let mut transactions = Vec::new();
    for tx in info.children(tx_element) {
        transactions.push(parse_transaction(tx, kind)?);
    }
    if transactions.is_empty() {
        return Err(XmlError::MissingElement {
            path: format!("{}/{tx_element}", info.path()),
        }
        .into());
    }

    let (sequence_type, creditor_scheme_id) = match kind {
        PaymentKind::CreditTransfer => (None, None),
        PaymentKind::DirectDebit => {
            // EPC puts both on PmtInf level; ISO also allows them per transaction.
            let first_tx = info.child(tx_element);
            let seq_node = type_info
                .and_then(|t| t.child("SeqTp"))
                .or_else(|| first_tx.and_then(|t| t.descend(&["PmtTpInf", "SeqTp"])));
            let sequence_type = match seq_node {
                Some(node) => {
                    let code = node.text()?;
                    Some(SequenceType::from_code(code).ok_or_else(|| {
                        node.invalid(code, "sequence type (FRST, RCUR, OOFF, FNAL)")
                    })?)
                }
                None => None,
            };
            let scheme_path = ["CdtrSchmeId", "Id", "PrvtId", "Othr", "Id"];
            let scheme = info.path_text(&scheme_path).or_else(|| {
                first_tx.and_then(|t| {
                    t.path_text(&["DrctDbtTx", "CdtrSchmeId", "Id", "PrvtId", "Othr", "Id"])
                })
            });
            (sequence_type, scheme.map(str::to_string))
        }
    };

    let payment_info = PaymentInfo {
        id,
        batch_booking,
        service_level,
        local_instrument,
        sequence_type,
        category_purpose,
        requested_date,
        account,
        creditor_scheme_id,
        charge_bearer,
        transactions,
    };
    if let Some(count) = info.child("NbOfTxs") {
        let declared_sum = info.child("CtrlSum").map(|c| c.amount()).transpose()?;
        let sum = payment_info.transactions.iter().map(|t| t.amount).sum();
        check_declared(
            &format!("PmtInf[{}]", index + 1),
            count.unsigned()?,
            declared_sum,
            payment_info.transactions.len(),
            sum,
        )?;
    } else if let Some(sum_node) = info.child("CtrlSum") {
        let declared = sum_node.amount()?;
        let actual = payment_info.transactions.iter().map(|t| t.amount).sum();
        if declared != actual {
            return Err(PainError::ControlSumMismatch {
                scope: format!("PmtInf[{}]", index + 1),
                declared,
                actual,
            });
        }
    }
    Ok(payment_info)
}

/// Name, IBAN and optional BIC of a party: `<party><Nm>`, `<account><Id><IBAN>`,
/// `<agent><FinInstnId><BIC|BICFI>`.
fn parse_party(
    parent: Cursor<'_, '_>,
    party: &str,
    account: &str,
    agent: &str,
) -> Result<AccountParty, PainError> {
    let name = parent.req(party)?.req_text("Nm")?.to_string();
    let iban = parent.req(account)?.req_path(&["Id", "IBAN"])?.iban()?;
    let bic = match parent.child(agent).and_then(|a| a.child("FinInstnId")) {
        Some(fin) => match fin.child("BICFI").or_else(|| fin.child("BIC")) {
            Some(node) => Some(node.bic()?),
            None => None,
        },
        None => None,
    };
    Ok(AccountParty { name, iban, bic })
}

fn parse_transaction(tx: Cursor<'_, '_>, kind: PaymentKind) -> Result<Transaction, PainError> {
    let payment_id = tx.req("PmtId")?;
    let end_to_end_id = payment_id.req_text("EndToEndId")?.to_string();
    let instruction_id = payment_id.child_text("InstrId").map(str::to_string);
    let amount_node = match kind {
        PaymentKind::CreditTransfer => tx.req_path(&["Amt", "InstdAmt"])?,
        PaymentKind::DirectDebit => tx.req("InstdAmt")?,
    };
    let amount = amount_node.amount()?;
    let currency = amount_node.currency_attr()?;
    let (counterparty, mandate) = match kind {
        PaymentKind::CreditTransfer => (parse_party(tx, "Cdtr", "CdtrAcct", "CdtrAgt")?, None),
        PaymentKind::DirectDebit => {
            let info = tx.req_path(&["DrctDbtTx", "MndtRltdInf"])?;
            let mandate = Mandate {
                id: info.req_text("MndtId")?.to_string(),
                signature_date: info.req("DtOfSgntr")?.date()?,
            };
            (
                parse_party(tx, "Dbtr", "DbtrAcct", "DbtrAgt")?,
                Some(mandate),
            )
        }
    };
    let remittance = tx.child("RmtInf").and_then(|r| {
        let lines: Vec<&str> = r.children("Ustrd").filter_map(|u| u.text_opt()).collect();
        (!lines.is_empty()).then(|| lines.join(" "))
    });
    Ok(Transaction {
        end_to_end_id,
        instruction_id,
        amount,
        currency,
        counterparty,
        mandate,
        remittance,
    })
}
