//! A BTF service as written by hand, before anything is checked.

use super::{BtfService, ContainerType, MessageName, OrderTypeError};

/// A BTF service descriptor as text, written flat: the message's version, variant and format
/// stand beside its name, the way a bank's configuration lists its offers. Nothing is checked
/// when it is read, and a missing part reads as empty: [`BtfServiceText::check`] turns it into
/// a [`BtfService`] and names every part that breaks the H005 schema types, a missing name
/// among them, so that a configuration can list all of its mistakes at once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BtfServiceText {
    /// ServiceName, three characters (`SCT`, `EOP`, `STM`, ...).
    pub service_name: String,
    /// Scope (`DE`, `GLB`, `BIL`, ...); absent means global.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// ServiceOption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_option: Option<String>,
    /// Container type: `ZIP`, `XML` or `SVC`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// MsgName, e.g. `camt.053` or `pain.001`.
    pub msg_name: String,
    /// MsgName@version, e.g. `08`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_version: Option<String>,
    /// MsgName@variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_variant: Option<String>,
    /// MsgName@format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_format: Option<String>,
}

/// A part of a [`BtfServiceText`] that breaks the H005 schema types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{part}: {error}")]
pub struct BtfTextError {
    /// The part as the text form names it (`service_name`, `msg_version`, ...).
    pub part: &'static str,
    pub error: OrderTypeError,
}

impl BtfServiceText {
    /// The message, its flat parts gathered as they are written, unchecked.
    pub fn message_name(&self) -> MessageName {
        MessageName {
            name: self.msg_name.clone(),
            version: self.msg_version.clone(),
            variant: self.msg_variant.clone(),
            format: self.msg_format.clone(),
        }
    }

    /// The checked service, or every part that breaks the H005 schema types.
    pub fn check(&self) -> Result<BtfService, Vec<BtfTextError>> {
        let container = self
            .container
            .as_deref()
            .map(str::parse::<ContainerType>)
            .transpose();
        let service = BtfService {
            service_name: self.service_name.clone(),
            scope: self.scope.clone(),
            service_option: self.service_option.clone(),
            container: container.clone().ok().flatten(),
            message: self.message_name(),
        };
        let problems: Vec<BtfTextError> = service
            .part_checks()
            .chain([("container", container.map(drop))])
            .filter_map(|(part, check)| check.err().map(|error| BtfTextError { part, error }))
            .collect();
        if problems.is_empty() {
            Ok(service)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order_type::OrderType;

    /// The C53 service (EOP/DE camt.053 in ZIP), version 08, as a configuration writes it.
    fn eop_camt053() -> BtfServiceText {
        serde_json::from_str(
            r#"{"service_name": "EOP", "scope": "DE", "container": "ZIP",
                "msg_name": "camt.053", "msg_version": "08"}"#,
        )
        .expect("flat text form")
    }

    fn broken_parts(text: &BtfServiceText) -> Vec<&'static str> {
        let problems = text.check().expect_err("broken");
        problems.iter().map(|p| p.part).collect()
    }

    #[test]
    fn a_well_formed_text_checks_into_the_service() {
        let mut c53 = OrderType::C53.btf_service().expect("mapped");
        c53.message.version = Some("08".into());
        assert_eq!(eop_camt053().check(), Ok(c53));
    }

    #[test]
    fn a_missing_name_is_named_like_a_broken_one() {
        assert_eq!(
            broken_parts(&BtfServiceText::default()),
            ["service_name", "msg_name"]
        );
    }

    #[test]
    fn every_broken_part_is_named() {
        let text = BtfServiceText {
            service_name: "EO".into(),
            container: Some("TAR".into()),
            msg_name: "CAMT.053".into(),
            msg_version: Some("8".into()),
            ..eop_camt053()
        };
        assert_eq!(
            broken_parts(&text),
            ["service_name", "msg_name", "msg_version", "container"]
        );
    }
}
