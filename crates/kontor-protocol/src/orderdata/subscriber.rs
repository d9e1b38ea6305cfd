//! HKD and HTD response order data: the customer (partner), its accounts, the order types it
//! may use and its subscribers with their permissions. Kontor syncs accounts, order types and
//! signature permissions from these documents.

use std::collections::HashSet;
use std::io::Write;

use super::common::{
    write_account_ids, AccountNumber, AccountPart, Amount, AuthorisationLevel, BankCode,
    FileFormat, Parameter,
};
use super::xml::{check, parse_currency, parse_u32, El, Family, Out};
use super::{document, OrderDataError, Result};
use crate::order_type::BtfService;
use crate::version::ProtocolVersion;
use kontor_documents::Currency;

/// `AddressInfo` of the customer; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressInfo {
    /// `Name`.
    pub name: Option<String>,
    /// `Street`.
    pub street: Option<String>,
    /// `PostCode`.
    pub post_code: Option<String>,
    /// `City`.
    pub city: Option<String>,
    /// `Region`.
    pub region: Option<String>,
    /// `Country`.
    pub country: Option<String>,
}

impl AddressInfo {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        out.start("AddressInfo", &[])?;
        out.opt_leaf("Name", self.name.as_deref())?;
        out.opt_leaf("Street", self.street.as_deref())?;
        out.opt_leaf("PostCode", self.post_code.as_deref())?;
        out.opt_leaf("City", self.city.as_deref())?;
        out.opt_leaf("Region", self.region.as_deref())?;
        out.opt_leaf("Country", self.country.as_deref())?;
        out.end("AddressInfo")
    }

    fn read(el: &El<'_, '_>) -> Self {
        Self {
            name: el.opt_child_text("Name"),
            street: el.opt_child_text("Street"),
            post_code: el.opt_child_text("PostCode"),
            city: el.opt_child_text("City"),
            region: el.opt_child_text("Region"),
            country: el.opt_child_text("Country"),
        }
    }
}

/// `BankInfo`: the host and bank-specific parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankInfo {
    /// `HostID`.
    pub host_id: String,
    /// `Parameter` list.
    pub parameters: Vec<Parameter>,
}

impl BankInfo {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::host_id("BankInfo/HostID", &self.host_id)?;
        out.start("BankInfo", &[])?;
        out.leaf("HostID", &self.host_id)?;
        for parameter in &self.parameters {
            parameter.write(out)?;
        }
        out.end("BankInfo")
    }

    fn read(el: &El<'_, '_>) -> Result<Self> {
        Ok(Self {
            host_id: el.child_text("HostID")?,
            parameters: el.read_children("Parameter", Parameter::read)?,
        })
    }
}

/// `AccountInfo`: one account of the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// `ID` attribute: the bank's account key, referenced by [`Permission::account_id`].
    pub id: String,
    /// `Currency` attribute (schema default `EUR` when absent).
    pub currency: Currency,
    /// `Description` attribute.
    pub description: Option<String>,
    /// One or two account numbers (IBAN and/or national).
    pub account_numbers: Vec<AccountNumber>,
    /// Bank codes (BIC and/or national): one or two in H004, up to two in H005.
    pub bank_codes: Vec<BankCode>,
    /// `AccountHolder`.
    pub account_holder: Option<String>,
    /// H004 `UsageOrderTypes`: order types usable with this account.
    pub usage_order_types: Vec<String>,
    /// H005 `UsageOrderTypes/Service`: services usable with this account.
    pub usage_services: Vec<BtfService>,
}

impl AccountInfo {
    /// The IBAN (`AccountNumber international="true"`), if listed.
    pub fn iban(&self) -> Option<&str> {
        self.account_numbers
            .iter()
            .find_map(AccountPart::international)
    }

    /// The BIC (`BankCode international="true"`), if listed.
    pub fn bic(&self) -> Option<&str> {
        self.bank_codes.iter().find_map(AccountPart::international)
    }

    /// The first national account number (`AccountNumber international="false"` or
    /// `NationalAccountNumber`), if listed.
    pub fn national_account_number(&self) -> Option<&str> {
        self.account_numbers.iter().find_map(AccountPart::national)
    }

    /// The first national bank code (`BankCode international="false"` or
    /// `NationalBankCode`), if listed.
    pub fn national_bank_code(&self) -> Option<&str> {
        self.bank_codes.iter().find_map(AccountPart::national)
    }

    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::token("AccountInfo/@ID", &self.id, 1, 64)?;
        let mut attrs = vec![("Currency", self.currency.as_str())];
        if let Some(description) = &self.description {
            attrs.push(("Description", description));
        }
        attrs.push(("ID", &self.id));
        out.start("AccountInfo", &attrs)?;
        write_account_ids(out, &self.account_numbers, &self.bank_codes, "AccountInfo")?;
        out.opt_leaf("AccountHolder", self.account_holder.as_deref())?;
        if out.is_h004() {
            out.forbid("UsageOrderTypes/Service", !self.usage_services.is_empty())?;
            if !self.usage_order_types.is_empty() {
                write_order_type_list(out, "UsageOrderTypes", &self.usage_order_types)?;
            }
        } else {
            out.forbid(
                "UsageOrderTypes (order type list)",
                !self.usage_order_types.is_empty(),
            )?;
            if !self.usage_services.is_empty() {
                out.start("UsageOrderTypes", &[])?;
                for service in &self.usage_services {
                    service.write(out, "Service")?;
                }
                out.end("UsageOrderTypes")?;
            }
        }
        out.end("AccountInfo")
    }

    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        let usage = el.opt_child("UsageOrderTypes");
        let (usage_order_types, usage_services) = match (usage, h004) {
            (Some(u), true) => (u.value(parse_order_type_list)?, Vec::new()),
            (Some(u), false) => (Vec::new(), u.read_children("Service", BtfService::read)?),
            (None, _) => (Vec::new(), Vec::new()),
        };
        let account_numbers = el.nonempty("AccountNumber", AccountNumber::read_all(el)?)?;
        Ok(Self {
            id: el.req_attr("ID")?,
            currency: el
                .attr_value("Currency", parse_currency)?
                .unwrap_or(super::DEFAULT_CURRENCY),
            description: el.attr("Description"),
            account_numbers,
            bank_codes: BankCode::read_all(el)?,
            account_holder: el.opt_child_text("AccountHolder"),
            usage_order_types,
            usage_services,
        })
    }
}

/// Writes an `OrderTListType` element after checking every order type.
pub(crate) fn write_order_type_list<W: Write>(
    out: &mut Out<'_, W>,
    element: &str,
    types: &[String],
) -> Result<()> {
    for t in types {
        check::order_type(element, t)?;
    }
    out.leaf(element, &types.join(" "))
}

/// `OrderTListType`: whitespace-separated three-character order types.
pub(crate) fn parse_order_type_list(s: &str) -> std::result::Result<Vec<String>, &'static str> {
    Ok(s.split_ascii_whitespace().map(str::to_owned).collect())
}

/// `TransferType` of an H004 order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferType {
    /// Upload (subscriber to bank).
    Upload,
    /// Download (bank to subscriber).
    Download,
}

impl TransferType {
    /// The schema code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "Upload",
            Self::Download => "Download",
        }
    }

    fn parse(s: &str) -> std::result::Result<Self, &'static str> {
        match s {
            "Upload" => Ok(Self::Upload),
            "Download" => Ok(Self::Download),
            _ => Err("transfer type must be Upload or Download"),
        }
    }
}

/// `OrderInfo` (`AuthOrderInfoType`): an order type the customer may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOrderInfo {
    /// H004 `OrderType`; H005 `AdminOrderType` (e.g. `BTU`, `BTD`, `HKD`).
    pub order_type: String,
    /// H005 `Service` of BTU/BTD orders.
    pub service: Option<BtfService>,
    /// H004 `FileFormat` of FUL/FDL orders.
    pub file_format: Option<FileFormat>,
    /// H004 `TransferType` (required in H004, absent in H005).
    pub transfer_type: Option<TransferType>,
    /// H004 `OrderFormat` (e.g. `pain.001`).
    pub order_format: Option<String>,
    /// `Description` (at most 128 characters).
    pub description: String,
    /// `NumSigRequired` (schema default 0 when absent).
    pub num_sig_required: Option<u32>,
}

impl AuthOrderInfo {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::order_type("OrderInfo/OrderType", &self.order_type)?;
        check::max_chars("OrderInfo/Description", &self.description, 128)?;
        out.start("OrderInfo", &[])?;
        if out.is_h004() {
            out.forbid("OrderInfo/Service", self.service.is_some())?;
            let transfer_type =
                *out.require("OrderInfo/TransferType", self.transfer_type.as_ref())?;
            out.leaf("OrderType", &self.order_type)?;
            if let Some(ff) = &self.file_format {
                ff.write(out)?;
            }
            out.leaf("TransferType", transfer_type.as_str())?;
            if let Some(format) = &self.order_format {
                check::token("OrderInfo/OrderFormat", format, 1, 8)?;
                out.leaf("OrderFormat", format)?;
            }
        } else {
            out.forbid("OrderInfo/FileFormat", self.file_format.is_some())?;
            out.forbid("OrderInfo/TransferType", self.transfer_type.is_some())?;
            out.forbid("OrderInfo/OrderFormat", self.order_format.is_some())?;
            out.leaf("AdminOrderType", &self.order_type)?;
            if let Some(service) = &self.service {
                service.write(out, "Service")?;
            }
        }
        out.leaf("Description", &self.description)?;
        if let Some(n) = self.num_sig_required {
            out.leaf("NumSigRequired", &n.to_string())?;
        }
        out.end("OrderInfo")
    }

    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        let num_sig_required = el.opt_child_value("NumSigRequired", parse_u32)?;
        let description = el.child("Description")?.text();
        if h004 {
            Ok(Self {
                order_type: el.child_text("OrderType")?,
                service: None,
                file_format: el.read_opt_child("FileFormat", FileFormat::read)?,
                transfer_type: Some(el.child_value("TransferType", TransferType::parse)?),
                order_format: el.opt_child_text("OrderFormat"),
                description,
                num_sig_required,
            })
        } else {
            Ok(Self {
                order_type: el.child_text("AdminOrderType")?,
                service: el.read_opt_child("Service", BtfService::read)?,
                file_format: None,
                transfer_type: None,
                order_format: None,
                description,
                num_sig_required,
            })
        }
    }
}

/// `PartnerInfo`: the customer, its bank, accounts and usable order types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerInfo {
    /// `AddressInfo`.
    pub address: AddressInfo,
    /// `BankInfo`.
    pub bank: BankInfo,
    /// `AccountInfo` list (IDs unique).
    pub accounts: Vec<AccountInfo>,
    /// `OrderInfo` list (at least one).
    pub order_infos: Vec<AuthOrderInfo>,
}

impl PartnerInfo {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::nonempty("PartnerInfo/OrderInfo", &self.order_infos, "order type")?;
        let mut ids = HashSet::new();
        for account in &self.accounts {
            if !ids.insert(account.id.as_str()) {
                return Err(OrderDataError::invalid(
                    "PartnerInfo/AccountInfo/@ID",
                    &account.id,
                    "duplicate account ID",
                ));
            }
        }
        out.start("PartnerInfo", &[])?;
        self.address.write(out)?;
        self.bank.write(out)?;
        for account in &self.accounts {
            account.write(out)?;
        }
        for info in &self.order_infos {
            info.write(out)?;
        }
        out.end("PartnerInfo")
    }

    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        let order_infos =
            el.read_nonempty_children("OrderInfo", |o| AuthOrderInfo::read(o, h004))?;
        Ok(Self {
            address: AddressInfo::read(&el.child("AddressInfo")?),
            bank: BankInfo::read(&el.child("BankInfo")?)?,
            accounts: el.read_children("AccountInfo", |a| AccountInfo::read(a, h004))?,
            order_infos,
        })
    }

    /// The account with the bank's account `ID`.
    pub fn account(&self, id: &str) -> Option<&AccountInfo> {
        self.accounts.iter().find(|a| a.id == id)
    }
}

/// `Permission`: what a subscriber may do with which signature class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `AuthorisationLevel` attribute (signature class), absent for non-signing permissions.
    pub authorisation_level: Option<AuthorisationLevel>,
    /// H004 `OrderTypes` (a list); H005 `AdminOrderType` (exactly one entry).
    pub order_types: Vec<String>,
    /// H005 `Service` the permission is restricted to.
    pub service: Option<BtfService>,
    /// H004 `FileFormat` the permission is restricted to.
    pub file_format: Option<FileFormat>,
    /// `AccountID`: refers to [`AccountInfo::id`].
    pub account_id: Option<String>,
    /// `MaxAmount` limit.
    pub max_amount: Option<Amount>,
}

impl Permission {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        let level = self.authorisation_level.map(|l| l.as_str());
        let attrs: Vec<(&str, &str)> = level
            .map(|l| ("AuthorisationLevel", l))
            .into_iter()
            .collect();
        out.start("Permission", &attrs)?;
        if out.is_h004() {
            out.forbid("Permission/Service", self.service.is_some())?;
            write_order_type_list(out, "OrderTypes", &self.order_types)?;
            if let Some(ff) = &self.file_format {
                ff.write(out)?;
            }
        } else {
            out.forbid("Permission/FileFormat", self.file_format.is_some())?;
            let [admin_order_type] = self.order_types.as_slice() else {
                return Err(OrderDataError::invalid(
                    "Permission/AdminOrderType",
                    &self.order_types.join(" "),
                    "an H005 permission names exactly one order type",
                ));
            };
            check::order_type("Permission/AdminOrderType", admin_order_type)?;
            out.leaf("AdminOrderType", admin_order_type)?;
            if let Some(service) = &self.service {
                service.write(out, "Service")?;
            }
        }
        if let Some(account_id) = &self.account_id {
            check::token("Permission/AccountID", account_id, 1, 64)?;
            out.leaf("AccountID", account_id)?;
        }
        if let Some(max) = &self.max_amount {
            max.write(out, "MaxAmount")?;
        }
        out.end("Permission")
    }

    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        let (order_types, service, file_format) = if h004 {
            (
                el.child_value("OrderTypes", parse_order_type_list)?,
                None,
                el.read_opt_child("FileFormat", FileFormat::read)?,
            )
        } else {
            (
                vec![el.child_text("AdminOrderType")?],
                el.read_opt_child("Service", BtfService::read)?,
                None,
            )
        };
        Ok(Self {
            authorisation_level: el.attr_value("AuthorisationLevel", AuthorisationLevel::parse)?,
            order_types,
            service,
            file_format,
            account_id: el.opt_child_text("AccountID"),
            max_amount: el.read_opt_child("MaxAmount", Amount::read)?,
        })
    }
}

/// `UserInfo`: one subscriber and its permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// `UserID`.
    pub user_id: String,
    /// `UserID/@Status` (0-99; bank-defined, e.g. 1 = ready).
    pub status: u8,
    /// `Name`.
    pub name: Option<String>,
    /// `Permission` list (at least one).
    pub permissions: Vec<Permission>,
}

impl UserInfo {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::ebics_id("UserInfo/UserID", &self.user_id)?;
        if self.status > 99 {
            return Err(OrderDataError::invalid(
                "UserInfo/UserID/@Status",
                &self.status.to_string(),
                "must be at most 99",
            ));
        }
        check::nonempty("UserInfo/Permission", &self.permissions, "permission")?;
        out.start("UserInfo", &[])?;
        out.leaf_attrs(
            "UserID",
            &[("Status", &self.status.to_string())],
            &self.user_id,
        )?;
        out.opt_leaf("Name", self.name.as_deref())?;
        for permission in &self.permissions {
            permission.write(out)?;
        }
        out.end("UserInfo")
    }

    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        let user = el.child("UserID")?;
        let permissions = el.read_nonempty_children("Permission", |p| Permission::read(p, h004))?;
        Ok(Self {
            user_id: user.nonempty_text()?,
            status: user.req_attr_value("Status", |s| {
                parse_u32(s).and_then(|n| {
                    u8::try_from(n)
                        .ok()
                        .filter(|n| *n <= 99)
                        .ok_or("must be at most 99")
                })
            })?,
            name: el.opt_child_text("Name"),
            permissions,
        })
    }
}

/// Checks the schema's `keyref`: every `Permission/AccountID` names an `AccountInfo/@ID`.
fn check_account_refs<'a>(
    partner: &PartnerInfo,
    users: impl IntoIterator<Item = &'a UserInfo>,
) -> Result<()> {
    for user in users {
        for permission in &user.permissions {
            if let Some(id) = &permission.account_id {
                if partner.account(id).is_none() {
                    return Err(OrderDataError::invalid(
                        "UserInfo/Permission/AccountID",
                        id,
                        "refers to no AccountInfo/@ID",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// HKD order data (`HKDResponseOrderData`): the customer and all its subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HKDResponseOrderData {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// `PartnerInfo`.
    pub partner_info: PartnerInfo,
    /// `UserInfo` list (at least one).
    pub user_infos: Vec<UserInfo>,
}

document!(HKDResponseOrderData, "HKDResponseOrderData", Family::Ebics);

impl HKDResponseOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::nonempty(
            "HKDResponseOrderData/UserInfo",
            &self.user_infos,
            "subscriber",
        )?;
        check_account_refs(&self.partner_info, &self.user_infos)?;
        self.partner_info.write(out)?;
        self.user_infos.iter().try_for_each(|u| u.write(out))
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let h004 = version == ProtocolVersion::H004;
        let user_infos = root.read_nonempty_children("UserInfo", |u| UserInfo::read(u, h004))?;
        Ok(Self {
            version,
            partner_info: PartnerInfo::read(&root.child("PartnerInfo")?, h004)?,
            user_infos,
        })
    }
}

/// HTD order data (`HTDResponseOrderData`): the customer and the requesting subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HTDResponseOrderData {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// `PartnerInfo`.
    pub partner_info: PartnerInfo,
    /// `UserInfo` of the requesting subscriber.
    pub user_info: UserInfo,
}

document!(HTDResponseOrderData, "HTDResponseOrderData", Family::Ebics);

impl HTDResponseOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check_account_refs(&self.partner_info, [&self.user_info])?;
        self.partner_info.write(out)?;
        self.user_info.write(out)
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let h004 = version == ProtocolVersion::H004;
        Ok(Self {
            version,
            partner_info: PartnerInfo::read(&root.child("PartnerInfo")?, h004)?,
            user_info: UserInfo::read(&root.child("UserInfo")?, h004)?,
        })
    }
}
