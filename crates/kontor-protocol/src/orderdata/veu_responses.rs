//! Responses of the distributed electronic signature (VEU/EDS): HVU and HVZ overviews, HVD
//! order status and HVT transaction details.

use std::io::Write;
use std::num::NonZeroU64;

use chrono::NaiveDate;
use kontor_documents::Currency;
use rust_decimal::Decimal;

use super::common::{
    write_account_ids, AccountNumber, AccountPart, BankCode, DataDigest, OrderKind, OriginatorInfo,
    SignerInfo, SigningInfo,
};
use super::xml::{
    check, format_amount, format_base64, format_bool, format_date, parse_base64, parse_bool,
    parse_currency, parse_date, parse_decimal, parse_positive_u64, parse_u64, El, Family, Out,
};
use super::{document, OrderDataError, Result};
use crate::order_type::MessageName;
use crate::version::ProtocolVersion;

fn read_signers(el: &El<'_, '_>) -> Result<Vec<SignerInfo>> {
    el.read_children("SignerInfo", SignerInfo::read)
}

/// An `OrderDetails` entry of the HVU and HVZ lists, which share their list rules.
trait OrderListEntry: Sized {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()>;
    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self>;
}

/// Writes an HVU/HVZ `OrderDetails` list; the schema wants at least one entry (a bank with
/// nothing to sign answers with a return code instead).
fn write_order_list<W: Write, T: OrderListEntry>(
    out: &mut Out<'_, W>,
    document: &str,
    orders: &[T],
) -> Result<()> {
    check::nonempty(&format!("{document}/OrderDetails"), orders, "order")?;
    orders.iter().try_for_each(|o| o.write(out))
}

fn read_order_list<T: OrderListEntry>(
    root: &El<'_, '_>,
    version: ProtocolVersion,
) -> Result<Vec<T>> {
    let h004 = version == ProtocolVersion::H004;
    root.read_nonempty_children("OrderDetails", |o| T::read(o, h004))
}

/// Declares the HVU or HVZ answer: a non-empty `OrderDetails` list of one entry type.
macro_rules! order_list_document {
    ($(#[$doc:meta])* $ty:ident, $entry:ty, $root:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty {
            /// H004 or H005.
            pub version: ProtocolVersion,
            /// `OrderDetails` list (at least one; a bank with nothing to sign answers with a
            /// return code instead).
            pub orders: Vec<$entry>,
        }

        document!($ty, $root, Family::Ebics);

        impl $ty {
            fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
                write_order_list(out, $root, &self.orders)
            }

            fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
                Ok(Self {
                    version,
                    orders: read_order_list(root, version)?,
                })
            }
        }
    };
}

/// What an HVU and an HVZ entry say alike of an order awaiting signatures
/// (`HVUOrderDetailsType`, `HVZOrderDetailsType`): which order it is, and who signed, still
/// has to sign and submitted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOrder {
    /// H004 `OrderType` (+ `FileFormat`) or H005 `Service`.
    pub order: OrderKind,
    /// `OrderID`.
    pub order_id: String,
    /// `SigningInfo`.
    pub signing_info: SigningInfo,
    /// `SignerInfo` list: signatures already given.
    pub signers: Vec<SignerInfo>,
    /// `OriginatorInfo`: who submitted the order.
    pub originator: OriginatorInfo,
    /// H005 `AdditionalOrderInfo` (at most 255 characters).
    pub additional_order_info: Option<String>,
}

impl PendingOrder {
    /// Writes an `OrderDetails` entry: the order and its id, then what the list type adds
    /// (`details`), then the signature state, in the schema's order.
    fn write_entry<W: Write>(
        &self,
        out: &mut Out<'_, W>,
        details: impl FnOnce(&mut Out<'_, W>) -> Result<()>,
    ) -> Result<()> {
        check::order_id("OrderDetails/OrderID", &self.order_id)?;
        out.start("OrderDetails", &[])?;
        self.order.write(out)?;
        out.leaf("OrderID", &self.order_id)?;
        details(out)?;
        self.signing_info.write(out)?;
        self.signers.iter().try_for_each(|s| s.write(out))?;
        self.originator.write(out)?;
        if let Some(info) = &self.additional_order_info {
            out.forbid("AdditionalOrderInfo", out.is_h004())?;
            check::max_chars("AdditionalOrderInfo", info, 255)?;
            out.leaf("AdditionalOrderInfo", info)?;
        }
        out.end("OrderDetails")
    }

    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        Ok(Self {
            order: OrderKind::read(el, h004)?,
            order_id: el.child_text("OrderID")?,
            signing_info: SigningInfo::read(&el.child("SigningInfo")?)?,
            signers: read_signers(el)?,
            originator: OriginatorInfo::read(&el.child("OriginatorInfo")?)?,
            // H004 has no `AdditionalOrderInfo`.
            additional_order_info: if h004 {
                None
            } else {
                el.opt_child_text("AdditionalOrderInfo")
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// HVU
// ---------------------------------------------------------------------------------------------

/// One order awaiting signatures (`HVUOrderDetailsType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HVUOrderDetails {
    /// The order and its signature state.
    pub pending: PendingOrder,
    /// `OrderDataSize` in bytes (uncompressed).
    pub order_data_size: NonZeroU64,
}

impl OrderListEntry for HVUOrderDetails {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        self.pending.write_entry(out, |out| {
            out.leaf("OrderDataSize", &self.order_data_size.to_string())
        })
    }

    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        Ok(Self {
            pending: PendingOrder::read(el, h004)?,
            order_data_size: el.child_value("OrderDataSize", parse_positive_u64)?,
        })
    }
}

order_list_document!(
    /// HVU order data (`HVUResponseOrderData`): orders awaiting signature.
    HVUResponseOrderData,
    HVUOrderDetails,
    "HVUResponseOrderData"
);

// ---------------------------------------------------------------------------------------------
// HVZ
// ---------------------------------------------------------------------------------------------

/// `TotalAmount` of an HVZ order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HVZTotalAmount {
    /// The sum.
    pub value: Decimal,
    /// `isCredit`: whether the sum is a credit (e.g. direct debits).
    pub is_credit: Option<bool>,
}

/// Account of the first transaction of an HVZ order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstOrderAccount {
    /// One or two account numbers.
    pub account_numbers: Vec<AccountNumber>,
    /// Bank codes (one or two in H004, up to two in H005).
    pub bank_codes: Vec<BankCode>,
}

/// `FirstOrderInfo`: the ordering party of the first transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirstOrderInfo {
    /// `OrderPartyInfo`: the ordering party's name.
    pub order_party_info: Option<String>,
    /// `AccountInfo`.
    pub account: Option<FirstOrderAccount>,
}

/// One order awaiting signatures with payment details (`HVZOrderDetailsType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HVZOrderDetails {
    /// The order and its signature state.
    pub pending: PendingOrder,
    /// `DataDigest`: what a co-signer signs (HVE) or cancels (HVS).
    pub data_digest: DataDigest,
    /// `OrderDataAvailable`: whether HVT with `completeOrderData` can fetch the order file.
    pub order_data_available: bool,
    /// `OrderDataSize` in bytes.
    pub order_data_size: NonZeroU64,
    /// `OrderDetailsAvailable`: whether HVT can list the transactions.
    pub order_details_available: bool,
    /// `TotalOrders`: number of transactions.
    pub total_orders: Option<u64>,
    /// `TotalAmount`.
    pub total_amount: Option<HVZTotalAmount>,
    /// `Currency` of the total amount.
    pub currency: Option<Currency>,
    /// `FirstOrderInfo`.
    pub first_order_info: Option<FirstOrderInfo>,
}

impl OrderListEntry for HVZOrderDetails {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        self.pending.write_entry(out, |out| self.write_details(out))
    }

    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        let total_amount = match el.opt_child("TotalAmount") {
            Some(t) => Some(HVZTotalAmount {
                value: t.value(parse_decimal)?,
                is_credit: t.attr_value("isCredit", parse_bool)?,
            }),
            None => None,
        };
        let first_order_info = match el.opt_child("FirstOrderInfo") {
            Some(f) => Some(FirstOrderInfo {
                order_party_info: f.opt_child_text("OrderPartyInfo"),
                account: match f.opt_child("AccountInfo") {
                    Some(a) => Some(FirstOrderAccount {
                        account_numbers: AccountNumber::read_all(&a)?,
                        bank_codes: BankCode::read_all(&a)?,
                    }),
                    None => None,
                },
            }),
            None => None,
        };
        let pending = PendingOrder::read(el, h004)?;
        let data_digest = DataDigest::read(&el.child("DataDigest")?)?;
        let (order_data_available, order_data_size, order_details_available) =
            read_order_data_flags(el)?;
        Ok(Self {
            pending,
            data_digest,
            order_data_available,
            order_data_size,
            order_details_available,
            total_orders: el.opt_child_value("TotalOrders", parse_u64)?,
            total_amount,
            currency: el.opt_child_value("Currency", parse_currency)?,
            first_order_info,
        })
    }
}

impl HVZOrderDetails {
    /// What HVZ adds to an entry: digest, sizes and the payment summary.
    fn write_details<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        self.data_digest.write(out, "DataDigest")?;
        self.write_order_data_flags(out)?;
        if let Some(total) = self.total_orders {
            out.leaf("TotalOrders", &total.to_string())?;
        }
        if let Some(total) = &self.total_amount {
            let value = format_amount("TotalAmount", &total.value)?;
            let attrs: Vec<(&str, &str)> = total
                .is_credit
                .map(|c| ("isCredit", format_bool(c)))
                .into_iter()
                .collect();
            out.leaf_attrs("TotalAmount", &attrs, &value)?;
        }
        if let Some(currency) = &self.currency {
            out.leaf("Currency", currency.as_str())?;
        }
        if let Some(first) = &self.first_order_info {
            out.start("FirstOrderInfo", &[])?;
            out.opt_leaf("OrderPartyInfo", first.order_party_info.as_deref())?;
            if let Some(account) = &first.account {
                out.start("AccountInfo", &[])?;
                write_account_ids(
                    out,
                    &account.account_numbers,
                    &account.bank_codes,
                    "FirstOrderInfo/AccountInfo",
                )?;
                out.end("AccountInfo")?;
            }
            out.end("FirstOrderInfo")?;
        }
        Ok(())
    }
}

order_list_document!(
    /// HVZ order data (`HVZResponseOrderData`): orders awaiting signature with payment details.
    HVZResponseOrderData,
    HVZOrderDetails,
    "HVZResponseOrderData"
);

// ---------------------------------------------------------------------------------------------
// HVD
// ---------------------------------------------------------------------------------------------

/// HVD order data (`HVDResponseOrderData`): status of one VEU order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HVDResponseOrderData {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// `DataDigest`: what a co-signer signs (HVE) or cancels (HVS).
    pub data_digest: DataDigest,
    /// `DisplayFile`: the human-readable accompanying note (decoded bytes; banks typically use
    /// ISO-8859-1 or UTF-8 text).
    pub display_file: Vec<u8>,
    /// `OrderDataAvailable`.
    pub order_data_available: bool,
    /// `OrderDataSize` in bytes.
    pub order_data_size: NonZeroU64,
    /// `OrderDetailsAvailable`.
    pub order_details_available: bool,
    /// `SignerInfo` list.
    pub signers: Vec<SignerInfo>,
}

document!(HVDResponseOrderData, "HVDResponseOrderData", Family::Ebics);

impl HVDResponseOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        self.data_digest.write(out, "DataDigest")?;
        out.leaf("DisplayFile", &format_base64(&self.display_file))?;
        self.write_order_data_flags(out)?;
        self.signers.iter().try_for_each(|s| s.write(out))
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let data_digest = DataDigest::read(&root.child("DataDigest")?)?;
        let display_file = root.child("DisplayFile")?.value(parse_base64)?;
        let (order_data_available, order_data_size, order_details_available) =
            read_order_data_flags(root)?;
        Ok(Self {
            version,
            data_digest,
            display_file,
            order_data_available,
            order_data_size,
            order_details_available,
            signers: read_signers(root)?,
        })
    }
}

/// What HVZ entries and HVD tell about an order's data: `OrderDataAvailable`, `OrderDataSize`
/// and `OrderDetailsAvailable`, in document order.
trait OrderDataFlags {
    fn order_data_flags(&self) -> (bool, NonZeroU64, bool);

    fn write_order_data_flags<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        let (available, size, details_available) = self.order_data_flags();
        out.leaf("OrderDataAvailable", format_bool(available))?;
        out.leaf("OrderDataSize", &size.to_string())?;
        out.leaf("OrderDetailsAvailable", format_bool(details_available))
    }
}

macro_rules! order_data_flags {
    ($($document:ty),+) => {$(
        impl OrderDataFlags for $document {
            fn order_data_flags(&self) -> (bool, NonZeroU64, bool) {
                let size = self.order_data_size;
                (self.order_data_available, size, self.order_details_available)
            }
        }
    )+};
}

order_data_flags!(HVZOrderDetails, HVDResponseOrderData);

fn read_order_data_flags(el: &El<'_, '_>) -> Result<(bool, NonZeroU64, bool)> {
    Ok((
        el.child_value("OrderDataAvailable", parse_bool)?,
        el.child_value("OrderDataSize", parse_positive_u64)?,
        el.child_value("OrderDetailsAvailable", parse_bool)?,
    ))
}

// ---------------------------------------------------------------------------------------------
// HVT
// ---------------------------------------------------------------------------------------------

/// `Role` of an account part in an HVT transaction.
///
/// Account numbers allow Originator/Recipient/Charges/Other, bank codes
/// Originator/Recipient/Correspondent/Other, account holders Originator/Recipient/Presenter/Other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountRole {
    /// `Originator`.
    Originator,
    /// `Recipient`.
    Recipient,
    /// `Charges` (account numbers only).
    Charges,
    /// `Correspondent` (bank codes only).
    Correspondent,
    /// `Presenter` (account holders only).
    Presenter,
    /// `Other`.
    Other,
}

impl AccountRole {
    /// The schema code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Originator => "Originator",
            Self::Recipient => "Recipient",
            Self::Charges => "Charges",
            Self::Correspondent => "Correspondent",
            Self::Presenter => "Presenter",
            Self::Other => "Other",
        }
    }

    fn parse(s: &str) -> std::result::Result<Self, &'static str> {
        match s {
            "Originator" => Ok(Self::Originator),
            "Recipient" => Ok(Self::Recipient),
            "Charges" => Ok(Self::Charges),
            "Correspondent" => Ok(Self::Correspondent),
            "Presenter" => Ok(Self::Presenter),
            "Other" => Ok(Self::Other),
            _ => Err("unknown account role"),
        }
    }

    fn check(self, path: &str, specific: AccountRole) -> Result<&'static str> {
        match self {
            Self::Originator | Self::Recipient | Self::Other => Ok(self.as_str()),
            role if role == specific => Ok(self.as_str()),
            role => Err(OrderDataError::invalid(
                path,
                role.as_str(),
                "role not allowed here",
            )),
        }
    }
}

/// An account number with its role (`AttributedAccountType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributedAccountNumber {
    /// The number.
    pub number: AccountNumber,
    /// `Role`.
    pub role: AccountRole,
    /// `Description`.
    pub description: Option<String>,
}

/// A bank code with its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributedBankCode {
    /// The code.
    pub code: BankCode,
    /// `Role`.
    pub role: AccountRole,
    /// `Description`.
    pub description: Option<String>,
}

/// An account holder with its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributedAccountHolder {
    /// The holder's name.
    pub name: String,
    /// `Role`.
    pub role: AccountRole,
    /// `Description`.
    pub description: Option<String>,
}

/// The `Role` and `Description` attributes every part of an HVT account carries.
fn role_attrs<'a>(role: &'a str, description: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut attrs = vec![("Role", role)];
    attrs.extend(description.map(|d| ("Description", d)));
    attrs
}

/// One account of an HVT transaction (`HVTAccountInfoType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributedAccount {
    /// `Currency` attribute (schema default `EUR`).
    pub currency: Currency,
    /// `Description` attribute.
    pub description: Option<String>,
    /// One or two account numbers.
    pub account_numbers: Vec<AttributedAccountNumber>,
    /// Bank codes (one or two in H004, up to two in H005).
    pub bank_codes: Vec<AttributedBankCode>,
    /// `AccountHolder`.
    pub account_holder: Option<AttributedAccountHolder>,
}

impl AttributedAccount {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        let numbers_ok = (1..=2).contains(&self.account_numbers.len());
        let min_codes = if out.is_h004() { 1 } else { 0 };
        let codes_ok = (min_codes..=2).contains(&self.bank_codes.len());
        if !numbers_ok || !codes_ok {
            return Err(OrderDataError::invalid(
                "OrderInfo/AccountInfo",
                &format!("{} numbers, {} codes", self.account_numbers.len(), self.bank_codes.len()),
                "an account needs one or two numbers and at most two bank codes (at least one in H004)",
            ));
        }
        let mut attrs = vec![("Currency", self.currency.as_str())];
        if let Some(d) = &self.description {
            attrs.push(("Description", d));
        }
        out.start("AccountInfo", &attrs)?;
        for n in &self.account_numbers {
            let role = n.role.check("AccountNumber/@Role", AccountRole::Charges)?;
            n.number
                .write_with(out, role_attrs(role, n.description.as_deref()))?;
        }
        for c in &self.bank_codes {
            let role = c.role.check("BankCode/@Role", AccountRole::Correspondent)?;
            c.code
                .write_with(out, role_attrs(role, c.description.as_deref()))?;
        }
        if let Some(h) = &self.account_holder {
            let role = h
                .role
                .check("AccountHolder/@Role", AccountRole::Presenter)?;
            let attrs = role_attrs(role, h.description.as_deref());
            out.leaf_attrs("AccountHolder", &attrs, &h.name)?;
        }
        out.end("AccountInfo")
    }

    fn read(el: &El<'_, '_>) -> Result<Self> {
        let role = |e: &El<'_, '_>| e.req_attr_value("Role", AccountRole::parse);
        let mut account_numbers = Vec::new();
        let mut bank_codes = Vec::new();
        for e in el.elements() {
            if let Some(number) = AccountNumber::read(&e)? {
                account_numbers.push(AttributedAccountNumber {
                    number,
                    role: role(&e)?,
                    description: e.attr("Description"),
                });
            } else if let Some(code) = BankCode::read(&e)? {
                bank_codes.push(AttributedBankCode {
                    code,
                    role: role(&e)?,
                    description: e.attr("Description"),
                });
            }
        }
        let account_holder = match el.opt_child("AccountHolder") {
            Some(h) => Some(AttributedAccountHolder {
                name: h.text(),
                role: role(&h)?,
                description: h.attr("Description"),
            }),
            None => None,
        };
        Ok(Self {
            currency: el
                .attr_value("Currency", parse_currency)?
                .unwrap_or(super::DEFAULT_CURRENCY),
            description: el.attr("Description"),
            account_numbers,
            bank_codes,
            account_holder,
        })
    }
}

/// `Amount` of an HVT transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HVTAmount {
    /// The amount.
    pub value: Decimal,
    /// `isCredit`.
    pub is_credit: Option<bool>,
    /// `Currency` (no default).
    pub currency: Option<Currency>,
}

/// `Type` of an HVT `Description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DescriptionKind {
    /// `Purpose`: remittance information.
    Purpose,
    /// `Details`.
    Details,
    /// `Comment`.
    Comment,
}

impl DescriptionKind {
    /// The schema code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Purpose => "Purpose",
            Self::Details => "Details",
            Self::Comment => "Comment",
        }
    }

    fn parse(s: &str) -> std::result::Result<Self, &'static str> {
        match s {
            "Purpose" => Ok(Self::Purpose),
            "Details" => Ok(Self::Details),
            "Comment" => Ok(Self::Comment),
            _ => Err("description type must be Purpose, Details or Comment"),
        }
    }
}

/// An HVT `Description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HVTDescription {
    /// `Type`.
    pub kind: DescriptionKind,
    /// The text (kept exactly, `xs:string`).
    pub text: String,
}

/// One transaction of a VEU order (`HVTOrderInfoType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HVTOrderInfo {
    /// H004 `OrderFormat` (at most 8 characters).
    pub order_format: Option<String>,
    /// H005 `MsgName`.
    pub msg_name: Option<MessageName>,
    /// `AccountInfo` list: two or three accounts (originator, recipient, charges).
    pub accounts: Vec<AttributedAccount>,
    /// `ExecutionDate`.
    pub execution_date: Option<NaiveDate>,
    /// `Amount`.
    pub amount: HVTAmount,
    /// `Description` list (at most four).
    pub descriptions: Vec<HVTDescription>,
}

impl HVTOrderInfo {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        if !(2..=3).contains(&self.accounts.len()) {
            return Err(OrderDataError::invalid(
                "OrderInfo/AccountInfo",
                &self.accounts.len().to_string(),
                "a transaction lists two or three accounts",
            ));
        }
        if self.descriptions.len() > 4 {
            return Err(OrderDataError::invalid(
                "OrderInfo/Description",
                &self.descriptions.len().to_string(),
                "at most four descriptions",
            ));
        }
        out.start("OrderInfo", &[])?;
        if out.is_h004() {
            out.forbid("OrderInfo/MsgName", self.msg_name.is_some())?;
            if let Some(format) = &self.order_format {
                check::token("OrderInfo/OrderFormat", format, 1, 8)?;
                out.leaf("OrderFormat", format)?;
            }
        } else {
            out.forbid("OrderInfo/OrderFormat", self.order_format.is_some())?;
            if let Some(msg) = &self.msg_name {
                msg.write(out)?;
            }
        }
        self.accounts.iter().try_for_each(|a| a.write(out))?;
        if let Some(date) = &self.execution_date {
            out.leaf("ExecutionDate", &format_date(date))?;
        }
        let value = format_amount("OrderInfo/Amount", &self.amount.value)?;
        let mut attrs = Vec::new();
        if let Some(credit) = self.amount.is_credit {
            attrs.push(("isCredit", format_bool(credit)));
        }
        if let Some(currency) = &self.amount.currency {
            attrs.push(("Currency", currency.as_str()));
        }
        out.leaf_attrs("Amount", &attrs, &value)?;
        for d in &self.descriptions {
            out.leaf_attrs("Description", &[("Type", d.kind.as_str())], &d.text)?;
        }
        out.end("OrderInfo")
    }

    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        let amount = el.child("Amount")?;
        let accounts = el.read_children("AccountInfo", AttributedAccount::read)?;
        Ok(Self {
            order_format: if h004 {
                el.opt_child_text("OrderFormat")
            } else {
                None
            },
            msg_name: if h004 {
                None
            } else {
                el.read_opt_child("MsgName", MessageName::read)?
            },
            accounts: el.nonempty("AccountInfo", accounts)?,
            execution_date: el.opt_child_value("ExecutionDate", parse_date)?,
            amount: HVTAmount {
                value: amount.value(parse_decimal)?,
                is_credit: amount.attr_value("isCredit", parse_bool)?,
                currency: amount.attr_value("Currency", parse_currency)?,
            },
            descriptions: el.read_children("Description", |d| {
                Ok(HVTDescription {
                    kind: d.req_attr_value("Type", DescriptionKind::parse)?,
                    text: d.raw_text(),
                })
            })?,
        })
    }
}

/// HVT order data (`HVTResponseOrderData`): transaction details of one VEU order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HVTResponseOrderData {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// `NumOrderInfos`: total number of transactions in the order (for paging with
    /// `fetchOffset`/`fetchLimit`).
    pub num_order_infos: u64,
    /// `OrderInfo` list (at least one).
    pub order_infos: Vec<HVTOrderInfo>,
}

document!(HVTResponseOrderData, "HVTResponseOrderData", Family::Ebics);

impl HVTResponseOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::ten_digits("NumOrderInfos", self.num_order_infos)?;
        check::nonempty(
            "HVTResponseOrderData/OrderInfo",
            &self.order_infos,
            "transaction",
        )?;
        out.leaf("NumOrderInfos", &self.num_order_infos.to_string())?;
        self.order_infos.iter().try_for_each(|o| o.write(out))
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let h004 = version == ProtocolVersion::H004;
        let infos = root.read_children("OrderInfo", |o| HVTOrderInfo::read(o, h004))?;
        Ok(Self {
            version,
            num_order_infos: root.child_value("NumOrderInfos", parse_u64)?,
            order_infos: root.nonempty("OrderInfo", infos)?,
        })
    }
}
