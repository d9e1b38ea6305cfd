//! Rules every [`PaymentOrder`] must satisfy, whether parsed or about to be built.

use super::{PainError, PaymentKind, PaymentOrder};
use crate::bic::Bic;
use crate::xml::writer::is_xml_char;

const CHARGE_BEARERS: &[&str] = &["DEBT", "CRED", "SHAR", "SLEV"];

pub(super) fn validate(order: &PaymentOrder) -> Result<(), PainError> {
    let kind = order.kind();
    let tx_element = order.version.transaction_element();
    text("GrpHdr", "MsgId", &order.message_id, 35)?;
    if let Some(name) = &order.initiating_party {
        text("GrpHdr", "InitgPty/Nm", name, 140)?;
    }
    if order.payment_infos.is_empty() {
        return Err(PainError::NoPaymentInfos);
    }
    for (i, info) in order.payment_infos.iter().enumerate() {
        let at = format!("PmtInf[{}]", i + 1);
        text(&at, "PmtInfId", &info.id, 35)?;
        text(&at, "account owner name", &info.account.name, 140)?;
        check_bic(order, &at, info.account.bic.as_ref())?;
        if let Some(code) = &info.service_level {
            text(&at, "SvcLvl/Cd", code, 4)?;
        }
        if let Some(code) = &info.local_instrument {
            text(&at, "LclInstrm/Cd", code, 35)?;
        }
        if let Some(code) = &info.category_purpose {
            text(&at, "CtgyPurp/Cd", code, 4)?;
        }
        if let Some(code) = &info.charge_bearer {
            if !CHARGE_BEARERS.contains(&code.as_str()) {
                return Err(PainError::InvalidCode {
                    location: at,
                    field: "ChrgBr",
                    value: code.clone(),
                });
            }
        }
        let scheme_id = direct_debit_field(kind, &at, "CdtrSchmeId", &info.creditor_scheme_id)?;
        if let Some(id) = scheme_id {
            text(&at, "CdtrSchmeId", id, 35)?;
        }
        direct_debit_field(kind, &at, "SeqTp", &info.sequence_type)?;
        if info.transactions.is_empty() {
            return Err(PainError::NoTransactions { location: at });
        }
        for (j, tx) in info.transactions.iter().enumerate() {
            let at = format!("{at}/{tx_element}[{}]", j + 1);
            text(&at, "EndToEndId", &tx.end_to_end_id, 35)?;
            if let Some(id) = &tx.instruction_id {
                text(&at, "InstrId", id, 35)?;
            }
            text(&at, "counterparty name", &tx.counterparty.name, 140)?;
            check_bic(order, &at, tx.counterparty.bic.as_ref())?;
            if let Some(remittance) = &tx.remittance {
                text(&at, "RmtInf/Ustrd", remittance, 140)?;
            }
            tx.amount
                .check_payment_amount(tx.currency)
                .map_err(|source| PainError::InvalidAmount {
                    location: at.clone(),
                    source,
                })?;
            if let Some(mandate) = direct_debit_field(kind, &at, "MndtRltdInf", &tx.mandate)? {
                text(&at, "MndtId", &mandate.id, 35)?;
            }
        }
    }
    Ok(())
}

/// A field that a direct debit must carry and a credit transfer must not; the value to check
/// further when present.
fn direct_debit_field<'v, T>(
    kind: PaymentKind,
    location: &str,
    field: &'static str,
    value: &'v Option<T>,
) -> Result<Option<&'v T>, PainError> {
    match (kind, value) {
        (PaymentKind::DirectDebit, None) => Err(PainError::MissingDirectDebitField {
            location: location.to_owned(),
            field,
        }),
        (PaymentKind::CreditTransfer, Some(_)) => Err(PainError::UnexpectedDirectDebitField {
            location: location.to_owned(),
            field,
        }),
        _ => Ok(value.as_ref()),
    }
}

/// Older versions only accept BICs matching their `BICIdentifier` pattern.
fn check_bic(order: &PaymentOrder, location: &str, bic: Option<&Bic>) -> Result<(), PainError> {
    match bic {
        Some(bic) if order.version.bic_element() == "BIC" && !bic.fits_legacy_pattern() => {
            Err(PainError::InvalidCode {
                location: location.to_string(),
                field: "BIC",
                value: bic.to_string(),
            })
        }
        _ => Ok(()),
    }
}

fn text(location: &str, field: &'static str, value: &str, max: usize) -> Result<(), PainError> {
    let len = value.chars().count();
    if len == 0 || len > max || value.trim().is_empty() {
        return Err(PainError::InvalidLength {
            location: location.to_string(),
            field,
            max,
            actual: len,
        });
    }
    if !value.chars().all(is_xml_char) {
        return Err(PainError::InvalidCharacters {
            location: location.to_string(),
            field,
        });
    }
    Ok(())
}
