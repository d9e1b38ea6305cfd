//! Hand-written order data in the styles banks and other clients produce: `ebics:`/`esig:`
//! prefixes, default namespaces redeclared on `ds:` elements, comments, line-wrapped base64,
//! `xsi:schemaLocation`, omitted optional attributes. All are valid against the official XSDs
//! (checked by `orderdata::schema`).

use kontor_protocol::ProtocolVersion;

use super::SchemaFamily;

pub struct Sample {
    pub name: &'static str,
    pub version: ProtocolVersion,
    pub family: SchemaFamily,
    pub xml: &'static str,
}

/// A modulus as Java's `BigInteger.toByteArray()` yields it: with a leading zero octet.
pub const MODULUS_B64_WRAPPED: &str = "
          AMNS8iZlpgwS0okYXZUO6IE2CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsi
          Smskih6STo/Qri4alJKjMF8YjLYQkA+eNH+uiG3GUHeV7HRcTD/LLrLHPhSTTIZ+
          4Fe6ckmb+hIeg2sqwVcm7n1rCvarE8OOksrg0VBXsVmYf5TMdBHXF/FFebKqEA+7
          s0+lk/6u0nJIt2Ljq1gF8HZaK5wdfg83xEkhvT9lZOrffxQqcmaMR+Ij0W7djEe0
          avxbruJh9TsmFS0mO6g7A3zUli5DSAEla4henJBR8yCw24PznqetvQ105t7H89+u
          zI9kZWZkGnuiZg8wEfw1cCk=";

pub const HPB_H004_EBICS_PREFIX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ebics:HPBResponseOrderData xmlns:ebics="urn:org:ebics:H004" xmlns:dsig="http://www.w3.org/2000/09/xmldsig#">
  <!-- bank authentication key -->
  <ebics:AuthenticationPubKeyInfo>
    <ebics:PubKeyValue>
      <dsig:RSAKeyValue>
        <dsig:Modulus>
          AMNS8iZlpgwS0okYXZUO6IE2CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsi
          Smskih6STo/Qri4alJKjMF8YjLYQkA+eNH+uiG3GUHeV7HRcTD/LLrLHPhSTTIZ+
          4Fe6ckmb+hIeg2sqwVcm7n1rCvarE8OOksrg0VBXsVmYf5TMdBHXF/FFebKqEA+7
          s0+lk/6u0nJIt2Ljq1gF8HZaK5wdfg83xEkhvT9lZOrffxQqcmaMR+Ij0W7djEe0
          avxbruJh9TsmFS0mO6g7A3zUli5DSAEla4henJBR8yCw24PznqetvQ105t7H89+u
          zI9kZWZkGnuiZg8wEfw1cCk=
        </dsig:Modulus>
        <dsig:Exponent>AQAB</dsig:Exponent>
      </dsig:RSAKeyValue>
      <ebics:TimeStamp>2023-11-02T10:15:30.000+01:00</ebics:TimeStamp>
    </ebics:PubKeyValue>
    <ebics:AuthenticationVersion>X002</ebics:AuthenticationVersion>
  </ebics:AuthenticationPubKeyInfo>
  <ebics:EncryptionPubKeyInfo>
    <ebics:PubKeyValue>
      <dsig:RSAKeyValue>
        <dsig:Modulus>AMNS8iZlpgwS0okYXZUO6IE2CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSmskih6STo/Qri4alJKjMF8YjLYQkA+eNH+uiG3GUHeV7HRcTD/LLrLHPhSTTIZ+4Fe6ckmb+hIeg2sqwVcm7n1rCvarE8OOksrg0VBXsVmYf5TMdBHXF/FFebKqEA+7s0+lk/6u0nJIt2Ljq1gF8HZaK5wdfg83xEkhvT9lZOrffxQqcmaMR+Ij0W7djEe0avxbruJh9TsmFS0mO6g7A3zUli5DSAEla4henJBR8yCw24PznqetvQ105t7H89+uzI9kZWZkGnuiZg8wEfw1cCk=</dsig:Modulus>
        <dsig:Exponent>AQAB</dsig:Exponent>
      </dsig:RSAKeyValue>
    </ebics:PubKeyValue>
    <ebics:EncryptionVersion>E002</ebics:EncryptionVersion>
  </ebics:EncryptionPubKeyInfo>
  <ebics:HostID>EBIXQUAL</ebics:HostID>
</ebics:HPBResponseOrderData>"#;

pub const CERT_B64: &str = "MIIBLBxXmQ0aAJEmiRnyXZ0GEt81nWAmokD0WJpdeR8d2Xz++nd6e08VJBq/V71DetSxKYQFNPPzh1wlsIvqBsKHTPqk3Rey2EKEXegqW8U5iIrHgFSiOZzPyfzC2jHOPdFmvc06M4R+W7sH/QfKR3hCMbGa9Fhyzu+5/Fn0+V0UOBo6eDJWNHuf/Oac1wB66KdYzKQV1ake6GPItsAzeuMtb8qiVRbN8vi4ZXZmvvIVuSgr/iAHJpfnd86nJZzTmPp5qO9ZJ4yMIQUDzPi5phqGv+8jb/zfMdPfNgdANkqAPcOWU0KLa9UhD+i9WuV1qZXQ54Rr0+rggCGIJoaCBN9wxi6bAcbMJiwkeZ65Ho4PU66Eh457yMYb4o8OPzBGCsUZgXOPB8Lk6RBx";

pub const HPB_H005_DEFAULT_NAMESPACES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<HPBResponseOrderData xmlns="urn:org:ebics:H005">
  <AuthenticationPubKeyInfo>
    <X509Data xmlns="http://www.w3.org/2000/09/xmldsig#">
      <X509IssuerSerial>
        <X509IssuerName>CN=EBICS Bank CA,O=Bank,C=DE</X509IssuerName>
        <X509SerialNumber>123456789012345678901234</X509SerialNumber>
      </X509IssuerSerial>
      <X509Certificate>MIIBLBxXmQ0aAJEmiRnyXZ0GEt81nWAmokD0WJpdeR8d2Xz++nd6e08VJBq/V71DetSxKYQFNPPzh1wlsIvqBsKHTPqk3Rey2EKEXegqW8U5iIrHgFSiOZzPyfzC2jHOPdFmvc06M4R+W7sH/QfKR3hCMbGa9Fhyzu+5/Fn0+V0UOBo6eDJWNHuf/Oac1wB66KdYzKQV1ake6GPItsAzeuMtb8qiVRbN8vi4ZXZmvvIVuSgr/iAHJpfnd86nJZzTmPp5qO9ZJ4yMIQUDzPi5phqGv+8jb/zfMdPfNgdANkqAPcOWU0KLa9UhD+i9WuV1qZXQ54Rr0+rggCGIJoaCBN9wxi6bAcbMJiwkeZ65Ho4PU66Eh457yMYb4o8OPzBGCsUZgXOPB8Lk6RBx</X509Certificate>
    </X509Data>
    <AuthenticationVersion>X002</AuthenticationVersion>
  </AuthenticationPubKeyInfo>
  <EncryptionPubKeyInfo>
    <ds:X509Data xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
      <ds:X509Certificate>
MIIBLBxXmQ0aAJEmiRnyXZ0GEt81nWAmokD0WJpdeR8d2Xz++nd6e08VJBq/V71D
etSxKYQFNPPzh1wlsIvqBsKHTPqk3Rey2EKEXegqW8U5iIrHgFSiOZzPyfzC2jHO
PdFmvc06M4R+W7sH/QfKR3hCMbGa9Fhyzu+5/Fn0+V0UOBo6eDJWNHuf/Oac1wB6
6KdYzKQV1ake6GPItsAzeuMtb8qiVRbN8vi4ZXZmvvIVuSgr/iAHJpfnd86nJZzT
mPp5qO9ZJ4yMIQUDzPi5phqGv+8jb/zfMdPfNgdANkqAPcOWU0KLa9UhD+i9WuV1
qZXQ54Rr0+rggCGIJoaCBN9wxi6bAcbMJiwkeZ65Ho4PU66Eh457yMYb4o8OPzBG
CsUZgXOPB8Lk6RBx
      </ds:X509Certificate>
    </ds:X509Data>
    <EncryptionVersion>E002</EncryptionVersion>
  </EncryptionPubKeyInfo>
  <HostID>EBIXQUAL</HostID>
</HPBResponseOrderData>"#;

pub const HTD_H004_GERMAN_BANK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<HTDResponseOrderData xmlns="urn:org:ebics:H004" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:org:ebics:H004 ebics_orders_H004.xsd">
  <PartnerInfo>
    <AddressInfo>
      <Name>Musterfirma GmbH</Name>
      <Street>Musterstr. 1</Street>
      <PostCode>12345</PostCode>
      <City>Musterstadt</City>
      <Country>DE</Country>
    </AddressInfo>
    <BankInfo>
      <HostID>EBIXQUAL</HostID>
    </BankInfo>
    <AccountInfo ID="1" Currency="EUR" Description="Girokonto">
      <AccountNumber international="false">1234567890</AccountNumber>
      <AccountNumber international="true">DE12500105170648489890</AccountNumber>
      <BankCode international="false" Prefix="DE">50010517</BankCode>
      <BankCode international="true">INGDDEFFXXX</BankCode>
      <AccountHolder>Musterfirma GmbH</AccountHolder>
    </AccountInfo>
    <AccountInfo ID="2">
      <AccountNumber international="true">DE02120300000000202051</AccountNumber>
      <BankCode international="true">BYLADEM1001</BankCode>
    </AccountInfo>
    <OrderInfo>
      <OrderType>CCT</OrderType>
      <TransferType>Upload</TransferType>
      <OrderFormat>pain.001</OrderFormat>
      <Description>SEPA-Überweisung</Description>
      <NumSigRequired>1</NumSigRequired>
    </OrderInfo>
    <OrderInfo>
      <OrderType>STA</OrderType>
      <TransferType>Download</TransferType>
      <Description>Kontoauszug MT940</Description>
    </OrderInfo>
  </PartnerInfo>
  <UserInfo>
    <UserID Status="1">USER1</UserID>
    <Name>Max Mustermann</Name>
    <Permission AuthorisationLevel="E">
      <OrderTypes>CCT CDD</OrderTypes>
      <AccountID>1</AccountID>
      <MaxAmount Currency="EUR">10000.00</MaxAmount>
    </Permission>
    <Permission>
      <OrderTypes>STA C53
        HKD HTD</OrderTypes>
    </Permission>
  </UserInfo>
</HTDResponseOrderData>"#;

/// The one service the HKD sample names three times (offered on the account, ordered,
/// permitted): SCT for Switzerland, pain.001 version 09.
macro_rules! h5_sct_ch_service {
    () => {
        r#"<h5:Service>
        <h5:ServiceName>SCT</h5:ServiceName>
        <h5:Scope>CH</h5:Scope>
        <h5:MsgName version="09">pain.001</h5:MsgName>
      </h5:Service>
"#
    };
}

pub const HKD_H005_CUSTOM_PREFIX: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>
<h5:HKDResponseOrderData xmlns:h5="urn:org:ebics:H005">
  <h5:PartnerInfo>
    <h5:AddressInfo><h5:Name>Kontor AG</h5:Name></h5:AddressInfo>
    <h5:BankInfo>
      <h5:HostID>BANKHOST</h5:HostID>
      <h5:Parameter><h5:Name>Instant</h5:Name><h5:Value Type="boolean">true</h5:Value></h5:Parameter>
    </h5:BankInfo>
    <h5:AccountInfo ID="CHF-1" Currency="CHF">
      <h5:AccountNumber international="true">CH9300762011623852957</h5:AccountNumber>
      <h5:UsageOrderTypes>
"#,
    h5_sct_ch_service!(),
    r#"      </h5:UsageOrderTypes>
    </h5:AccountInfo>
    <h5:OrderInfo>
      <h5:AdminOrderType>BTU</h5:AdminOrderType>
"#,
    h5_sct_ch_service!(),
    r#"      <h5:Description>Zahlungen</h5:Description>
      <h5:NumSigRequired>2</h5:NumSigRequired>
    </h5:OrderInfo>
    <h5:OrderInfo>
      <h5:AdminOrderType>BTD</h5:AdminOrderType>
      <h5:Service>
        <h5:ServiceName>EOP</h5:ServiceName>
        <h5:Scope>CH</h5:Scope>
        <h5:Container containerType="ZIP"/>
        <h5:MsgName version="08">camt.053</h5:MsgName>
      </h5:Service>
      <h5:Description>Kontoauszüge</h5:Description>
    </h5:OrderInfo>
  </h5:PartnerInfo>
  <h5:UserInfo>
    <h5:UserID Status="1">ALICE</h5:UserID>
    <h5:Permission AuthorisationLevel="A">
      <h5:AdminOrderType>BTU</h5:AdminOrderType>
"#,
    h5_sct_ch_service!(),
    r#"      <h5:AccountID>CHF-1</h5:AccountID>
      <h5:MaxAmount Currency="CHF">50000</h5:MaxAmount>
    </h5:Permission>
  </h5:UserInfo>
  <h5:UserInfo>
    <h5:UserID Status="4">BOB</h5:UserID>
    <h5:Name>Bob</h5:Name>
    <h5:Permission>
      <h5:AdminOrderType>HKD</h5:AdminOrderType>
    </h5:Permission>
  </h5:UserInfo>
</h5:HKDResponseOrderData>"#,
);

pub const HAA_H004: &str = r#"<HAAResponseOrderData xmlns="urn:org:ebics:H004"><OrderTypes>STA VMK C53 PTK</OrderTypes></HAAResponseOrderData>"#;

pub const HAA_H005: &str = r#"<ebics:HAAResponseOrderData xmlns:ebics="urn:org:ebics:H005">
  <ebics:Service><ebics:ServiceName>EOP</ebics:ServiceName><ebics:Scope>DE</ebics:Scope><ebics:Container containerType="ZIP"/><ebics:MsgName version="08">camt.053</ebics:MsgName></ebics:Service>
  <ebics:Service><ebics:ServiceName>REP</ebics:ServiceName><ebics:Scope>DE</ebics:Scope><ebics:MsgName>pain.002</ebics:MsgName></ebics:Service>
</ebics:HAAResponseOrderData>"#;

pub const HPD_H004: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<HPDResponseOrderData xmlns="urn:org:ebics:H004">
  <AccessParams>
    <URL valid_from="2015-01-01T00:00:00Z">https://ebics.bank.example/ebics</URL>
    <Institute>Beispielbank eG</Institute>
    <HostID>EBIXQUAL</HostID>
  </AccessParams>
  <ProtocolParams>
    <Version>
      <Protocol>H003 H004</Protocol>
      <Authentication>X001 X002</Authentication>
      <Encryption>E001 E002</Encryption>
      <Signature>A004 A005 A006</Signature>
    </Version>
    <Recovery/>
    <PreValidation supported="false"/>
    <X509Data persistent="true"/>
    <ClientDataDownload supported="1"/>
    <DownloadableOrderData supported="true"/>
  </ProtocolParams>
</HPDResponseOrderData>"#;

pub const HPD_H005: &str = r#"<HPDResponseOrderData xmlns="urn:org:ebics:H005">
  <AccessParams><URL>https://ebics.bank.example/ebics3</URL><Institute>Beispielbank</Institute></AccessParams>
  <ProtocolParams><Version><Protocol>H005</Protocol><Authentication>X002</Authentication><Encryption>E002</Encryption><Signature>A006</Signature></Version></ProtocolParams>
</HPDResponseOrderData>"#;

pub const HVU_H004_PREFIXED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ebics:HVUResponseOrderData xmlns:ebics="urn:org:ebics:H004">
  <ebics:OrderDetails>
    <ebics:OrderType>FUL</ebics:OrderType>
    <ebics:FileFormat CountryCode="FR">pain.001.001.03.sct</ebics:FileFormat>
    <ebics:OrderID>A00F</ebics:OrderID>
    <ebics:OrderDataSize>2048</ebics:OrderDataSize>
    <ebics:SigningInfo NumSigRequired="2" NumSigDone="1" readyToBeSigned="true"/>
    <ebics:SignerInfo>
      <ebics:PartnerID>PARTNER1</ebics:PartnerID>
      <ebics:UserID>USER2</ebics:UserID>
      <ebics:Name>Erika Mustermann</ebics:Name>
      <ebics:Timestamp>2024-05-17T09:15:00Z</ebics:Timestamp>
      <ebics:Permission AuthorisationLevel="A"/>
    </ebics:SignerInfo>
    <ebics:OriginatorInfo>
      <ebics:PartnerID>PARTNER1</ebics:PartnerID>
      <ebics:UserID>USER2</ebics:UserID>
      <ebics:Timestamp>2024-05-17T09:14:59.123Z</ebics:Timestamp>
    </ebics:OriginatorInfo>
  </ebics:OrderDetails>
</ebics:HVUResponseOrderData>"#;

pub const HVZ_H005: &str = r#"<HVZResponseOrderData xmlns="urn:org:ebics:H005">
  <OrderDetails>
    <Service><ServiceName>SDD</ServiceName><Scope>DE</Scope><ServiceOption>COR</ServiceOption><MsgName version="08">pain.008</MsgName></Service>
    <OrderID>B001</OrderID>
    <DataDigest SignatureVersion="A006">DhWq12Hegav4SJk+sUsLdS8oRHIAQ132VPj8jFI+CPc=</DataDigest>
    <OrderDataAvailable>true</OrderDataAvailable>
    <OrderDataSize>4711</OrderDataSize>
    <OrderDetailsAvailable>false</OrderDetailsAvailable>
    <TotalOrders>12</TotalOrders>
    <TotalAmount isCredit="true">15000.5</TotalAmount>
    <Currency>EUR</Currency>
    <FirstOrderInfo>
      <OrderPartyInfo>Kontor AG</OrderPartyInfo>
      <AccountInfo>
        <AccountNumber international="true">DE89370400440532013000</AccountNumber>
      </AccountInfo>
    </FirstOrderInfo>
    <SigningInfo readyToBeSigned="false" NumSigRequired="1" NumSigDone="0"/>
    <OriginatorInfo>
      <PartnerID>PARTNER1</PartnerID>
      <UserID>USER3</UserID>
      <Timestamp>2024-05-17T07:00:00+02:00</Timestamp>
    </OriginatorInfo>
    <AdditionalOrderInfo>Lastschriften Mai</AdditionalOrderInfo>
  </OrderDetails>
</HVZResponseOrderData>"#;

pub const HVD_H004_NO_DIGEST_VERSION: &str = r#"<HVDResponseOrderData xmlns="urn:org:ebics:H004">
  <DataDigest>DhWq12Hegav4SJk+sUsLdS8oRHIAQ132VPj8jFI+CPc=</DataDigest>
  <DisplayFile>
    QXVmdHJhZyBDQ1QKU3Vt
    bWUgMS4yMzQsNTYgRVVSCg==
  </DisplayFile>
  <OrderDataAvailable>1</OrderDataAvailable>
  <OrderDataSize>1</OrderDataSize>
  <OrderDetailsAvailable>0</OrderDetailsAvailable>
</HVDResponseOrderData>"#;

pub const HVT_H005: &str = r#"<HVTResponseOrderData xmlns="urn:org:ebics:H005">
  <NumOrderInfos>1</NumOrderInfos>
  <OrderInfo>
    <MsgName version="09">pain.001</MsgName>
    <AccountInfo Currency="EUR">
      <AccountNumber Role="Originator" international="true">DE89370400440532013000</AccountNumber>
      <BankCode Role="Originator" international="true">COBADEFFXXX</BankCode>
      <AccountHolder Role="Originator">Kontor AG</AccountHolder>
    </AccountInfo>
    <AccountInfo>
      <NationalAccountNumber Role="Recipient" format="other">GB-0012345678</NationalAccountNumber>
      <AccountHolder Role="Recipient" Description="Lieferant">Supplier Ltd</AccountHolder>
    </AccountInfo>
    <AccountInfo>
      <AccountNumber Role="Charges">DE02120300000000202051</AccountNumber>
    </AccountInfo>
    <ExecutionDate>2024-05-21</ExecutionDate>
    <Amount Currency="GBP">99.9</Amount>
    <Description Type="Purpose">Invoice 4711</Description>
    <Description Type="Comment">  spaces kept  </Description>
  </OrderInfo>
</HVTResponseOrderData>"#;

pub const USER_SIGNATURE_S001_ESIG_PREFIX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<esig:UserSignatureData xmlns:esig="http://www.ebics.org/S001" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.ebics.org/S001 http://www.ebics.org/S001/ebics_signature.xsd">
  <esig:OrderSignatureData>
    <esig:SignatureVersion>A005</esig:SignatureVersion>
    <esig:SignatureValue>U5z5gZuDM7FGc4KIznqB8T+yheDg8e1C7I/k8TPXciNqH2RxUBKrPW0SNqtNyB/lxifwt6SpXSRA4iP3dzi/8xhl4nwp/arVOSm0bv6DZ1ZrMltRF7hdBFaNdXC0BGJUhJ9Lg/UQHPzryTr44BoVQ0UK58cuRcEh0WzZ6a3R8kJnJonrg5J+s1MWRw7MsC5s5RJE8ASiFs1CFZvbOBFD3B90Alb+jWrt6kSfIQuGtT3wHPgpQwwuM+5PoE6HwjRKcoCsLUVYzQT+QAkDBLuBjfowg3k+73IbqNGmbqh+i9XjZPiBTrA3+zpXMtXhtLqiI2f9WPsN1iEDEqC94UFuKQ==</esig:SignatureValue>
    <esig:PartnerID>PARTNER1</esig:PartnerID>
    <esig:UserID>USER1</esig:UserID>
  </esig:OrderSignatureData>
  <esig:OrderSignatureData>
    <esig:SignatureVersion>A006</esig:SignatureVersion>
    <esig:SignatureValue>U5z5gZuDM7FGc4KIznqB8T+yheDg8e1C7I/k8TPXciNqH2RxUBKrPW0SNqtNyB/lxifwt6SpXSRA4iP3dzi/8xhl4nwp/arVOSm0bv6DZ1ZrMltRF7hdBFaNdXC0BGJUhJ9Lg/UQHPzryTr44BoVQ0UK58cuRcEh0WzZ6a3R8kJnJonrg5J+s1MWRw7MsC5s5RJE8ASiFs1CFZvbOBFD3B90Alb+jWrt6kSfIQuGtT3wHPgpQwwuM+5PoE6HwjRKcoCsLUVYzQT+QAkDBLuBjfowg3k+73IbqNGmbqh+i9XjZPiBTrA3+zpXMtXhtLqiI2f9WPsN1iEDEqC94UFuKQ==</esig:SignatureValue>
    <esig:PartnerID>PARTNER1</esig:PartnerID>
    <esig:UserID>USER2</esig:UserID>
    <ds:X509Data><ds:X509SubjectName>CN=USER2</ds:X509SubjectName><ds:X509Certificate>MIIBLBxXmQ0aAJEmiRnyXZ0GEt81nWAmokD0WJpdeR8d2Xz++nd6e08VJBq/V71DetSxKYQFNPPzh1wlsIvqBsKHTPqk3Rey2EKEXegqW8U5iIrHgFSiOZzPyfzC2jHOPdFmvc06M4R+W7sH/QfKR3hCMbGa9Fhyzu+5/Fn0+V0UOBo6eDJWNHuf/Oac1wB66KdYzKQV1ake6GPItsAzeuMtb8qiVRbN8vi4ZXZmvvIVuSgr/iAHJpfnd86nJZzTmPp5qO9ZJ4yMIQUDzPi5phqGv+8jb/zfMdPfNgdANkqAPcOWU0KLa9UhD+i9WuV1qZXQ54Rr0+rggCGIJoaCBN9wxi6bAcbMJiwkeZ65Ho4PU66Eh457yMYb4o8OPzBGCsUZgXOPB8Lk6RBx</ds:X509Certificate></ds:X509Data>
  </esig:OrderSignatureData>
</esig:UserSignatureData>"#;

pub const USER_SIGNATURE_S002_DEFAULT: &str = r#"<UserSignatureData xmlns="http://www.ebics.org/S002"><OrderSignatureData><SignatureVersion>A006</SignatureVersion><SignatureValue>DhWq12Hegav4SJk+sUsLdS8oRHIAQ132VPj8jFI+CPc=</SignatureValue><PartnerID>P1</PartnerID><UserID>U1</UserID></OrderSignatureData></UserSignatureData>"#;

pub const INI_H004_CLIENT: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<SignaturePubKeyOrderData xmlns="http://www.ebics.org/S001" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <SignaturePubKeyInfo>
    <PubKeyValue>
      <ds:RSAKeyValue>
        <ds:Modulus>AMNS8iZlpgwS0okYXZUO6IE2CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSmskih6STo/Qri4alJKjMF8YjLYQkA+eNH+uiG3GUHeV7HRcTD/LLrLHPhSTTIZ+4Fe6ckmb+hIeg2sqwVcm7n1rCvarE8OOksrg0VBXsVmYf5TMdBHXF/FFebKqEA+7s0+lk/6u0nJIt2Ljq1gF8HZaK5wdfg83xEkhvT9lZOrffxQqcmaMR+Ij0W7djEe0avxbruJh9TsmFS0mO6g7A3zUli5DSAEla4henJBR8yCw24PznqetvQ105t7H89+uzI9kZWZkGnuiZg8wEfw1cCk=</ds:Modulus>
        <ds:Exponent>AQAB</ds:Exponent>
      </ds:RSAKeyValue>
      <TimeStamp>2024-05-17T08:00:00</TimeStamp>
    </PubKeyValue>
    <SignatureVersion>A005</SignatureVersion>
  </SignaturePubKeyInfo>
  <PartnerID>PARTNER1</PartnerID>
  <UserID>USER1</UserID>
</SignaturePubKeyOrderData>"#;

pub const INI_H005_CLIENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SignaturePubKeyOrderData xmlns="http://www.ebics.org/S002" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <SignaturePubKeyInfo>
    <ds:X509Data>
      <ds:X509IssuerSerial><ds:X509IssuerName>CN=USER1</ds:X509IssuerName><ds:X509SerialNumber>1</ds:X509SerialNumber></ds:X509IssuerSerial>
      <ds:X509Certificate>MIIBLBxXmQ0aAJEmiRnyXZ0GEt81nWAmokD0WJpdeR8d2Xz++nd6e08VJBq/V71DetSxKYQFNPPzh1wlsIvqBsKHTPqk3Rey2EKEXegqW8U5iIrHgFSiOZzPyfzC2jHOPdFmvc06M4R+W7sH/QfKR3hCMbGa9Fhyzu+5/Fn0+V0UOBo6eDJWNHuf/Oac1wB66KdYzKQV1ake6GPItsAzeuMtb8qiVRbN8vi4ZXZmvvIVuSgr/iAHJpfnd86nJZzTmPp5qO9ZJ4yMIQUDzPi5phqGv+8jb/zfMdPfNgdANkqAPcOWU0KLa9UhD+i9WuV1qZXQ54Rr0+rggCGIJoaCBN9wxi6bAcbMJiwkeZ65Ho4PU66Eh457yMYb4o8OPzBGCsUZgXOPB8Lk6RBx</ds:X509Certificate>
    </ds:X509Data>
    <SignatureVersion>A006</SignatureVersion>
  </SignaturePubKeyInfo>
  <PartnerID>PARTNER1</PartnerID>
  <UserID>USER1</UserID>
</SignaturePubKeyOrderData>"#;

pub const HVT_PARAMS_H004: &str = r#"<ebics:HVTOrderParams xmlns:ebics="urn:org:ebics:H004"><ebics:PartnerID>PARTNER1</ebics:PartnerID><ebics:OrderType>CCT</ebics:OrderType><ebics:OrderID>A001</ebics:OrderID><ebics:OrderFlags completeOrderData="false" fetchLimit="50" fetchOffset="100"/></ebics:HVTOrderParams>"#;

/// `(name, version, xml)` rows from `version CONSTANT` pairs, each sample named by its constant.
macro_rules! named_samples {
    ($($version:ident $xml:ident),* $(,)?) => {
        [$((stringify!($xml), $version, $xml)),*]
    };
}

pub fn all() -> Vec<Sample> {
    use ProtocolVersion::{H004, H005};
    let orders = named_samples![
        H004 HPB_H004_EBICS_PREFIX,
        H005 HPB_H005_DEFAULT_NAMESPACES,
        H004 HTD_H004_GERMAN_BANK,
        H005 HKD_H005_CUSTOM_PREFIX,
        H004 HAA_H004,
        H005 HAA_H005,
        H004 HPD_H004,
        H005 HPD_H005,
        H004 HVU_H004_PREFIXED,
        H005 HVZ_H005,
        H004 HVD_H004_NO_DIGEST_VERSION,
        H005 HVT_H005,
        H004 HVT_PARAMS_H004,
    ];
    let signatures = named_samples![
        H004 USER_SIGNATURE_S001_ESIG_PREFIX,
        H005 USER_SIGNATURE_S002_DEFAULT,
        H004 INI_H004_CLIENT,
        H005 INI_H005_CLIENT,
    ];
    let of = |family| {
        move |(name, version, xml)| Sample {
            name,
            version,
            family,
            xml,
        }
    };
    let orders = orders.into_iter().map(of(SchemaFamily::Orders));
    let signatures = signatures.into_iter().map(of(SchemaFamily::Signature));
    orders.chain(signatures).collect()
}
