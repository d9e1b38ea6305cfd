//! The official XSDs are not available offline, so generated documents are checked against the
//! element sequences of the schema types (camt.05x.001.08, pain.001.001.09/.03,
//! pain.008.001.08/.02) as transcribed here: every element with children must be a known type,
//! its children must be allowed and appear in schema order.

use kontor_documents::camt::{self, CamtKind, OpeningBalanceType, StatementRequest};
use kontor_documents::pain::{self, PainVersion};

use crate::support::samples::sample_order;
use crate::support::{account, date, datetime, ledger};

const PARTY: &str = "Nm PstlAdr Id CtryOfRes CtctDtls";
const CASH_ACCOUNT: &str = "Id Tp Ccy Nm Prxy";
const AGENT: &str = "FinInstnId BrnchId";
const FIN_INSTN_ID: &str = "BICFI BIC ClrSysMmbId LEI Nm PstlAdr Othr";
const CODE_OR_PROPRIETARY: &str = "Cd Prtry";
const DATE_CHOICE: &str = "Dt DtTm";
const CAMT_GROUP_HEADER: &str = "MsgId CreDtTm MsgRcpt MsgPgntn OrgnlBizQry AddtlInf";
const REPORT_START: &str = "Id StmtPgntn RptPgntn NtfctnPgntn ElctrncSeqNb RptgSeq LglSeqNb \
    CreDtTm FrToDt CpyDplctInd RptgSrc Acct RltdAcct Intrst Bal TxsSummry Ntry AddtlStmtInf \
    AddtlRptInf AddtlNtfctnInf";

/// Allowed children in schema order (separated by spaces), by `parent/element` (`*` matches
/// any parent).
const SEQUENCES: &[(&str, &str)] = &[
    (
        "/Document",
        "BkToCstmrStmt BkToCstmrAcctRpt BkToCstmrDbtCdtNtfctn CstmrCdtTrfInitn CstmrDrctDbtInitn",
    ),
    // camt
    ("Document/BkToCstmrStmt", "GrpHdr Stmt SplmtryData"),
    ("Document/BkToCstmrAcctRpt", "GrpHdr Rpt SplmtryData"),
    (
        "Document/BkToCstmrDbtCdtNtfctn",
        "GrpHdr Ntfctn SplmtryData",
    ),
    ("BkToCstmrStmt/GrpHdr", CAMT_GROUP_HEADER),
    ("BkToCstmrAcctRpt/GrpHdr", CAMT_GROUP_HEADER),
    ("BkToCstmrDbtCdtNtfctn/GrpHdr", CAMT_GROUP_HEADER),
    ("GrpHdr/MsgPgntn", "PgNb LastPgInd"),
    ("BkToCstmrStmt/Stmt", REPORT_START),
    ("BkToCstmrAcctRpt/Rpt", REPORT_START),
    ("BkToCstmrDbtCdtNtfctn/Ntfctn", REPORT_START),
    ("*/FrToDt", "FrDtTm ToDtTm"),
    ("*/Acct", "Id Tp Ccy Nm Prxy Ownr Svcr"),
    ("Acct/Id", "IBAN Othr"),
    ("Acct/Ownr", PARTY),
    ("Acct/Svcr", AGENT),
    ("Svcr/FinInstnId", FIN_INSTN_ID),
    ("*/Bal", "Tp CdtLine Amt CdtDbtInd Dt Avlbty"),
    ("Bal/Tp", "CdOrPrtry SubTp"),
    ("Tp/CdOrPrtry", CODE_OR_PROPRIETARY),
    ("Bal/Dt", DATE_CHOICE),
    (
        "*/TxsSummry",
        "TtlNtries TtlCdtNtries TtlDbtNtries TtlNtriesPerBkTxCd",
    ),
    ("TxsSummry/TtlNtries", "NbOfNtries Sum TtlNetNtry"),
    ("TtlNtries/TtlNetNtry", "Amt CdtDbtInd"),
    ("TxsSummry/TtlCdtNtries", "NbOfNtries Sum"),
    ("TxsSummry/TtlDbtNtries", "NbOfNtries Sum"),
    (
        "*/Ntry",
        "NtryRef Amt CdtDbtInd RvslInd Sts BookgDt ValDt AcctSvcrRef Avlbty BkTxCd \
            ComssnWaivrInd AddtlInfInd AmtDtls Chrgs TechInptChanl Intrst CardTx NtryDtls \
            AddtlNtryInf",
    ),
    ("Ntry/Sts", CODE_OR_PROPRIETARY),
    ("Ntry/BookgDt", DATE_CHOICE),
    ("Ntry/ValDt", DATE_CHOICE),
    ("Ntry/BkTxCd", "Domn Prtry"),
    ("BkTxCd/Domn", "Cd Fmly"),
    ("Domn/Fmly", "Cd SubFmlyCd"),
    ("BkTxCd/Prtry", "Cd Issr"),
    ("Ntry/NtryDtls", "Btch TxDtls"),
    (
        "NtryDtls/TxDtls",
        "Refs Amt CdtDbtInd AmtDtls Avlbty BkTxCd Chrgs Intrst RltdPties RltdAgts LclInstrm \
            Purp RltdRmtInf RmtInf RltdDts RltdPric RltdQties FinInstrmId Tax RtrInf CorpActn \
            SfkpgAcct CshDpst CardTx AddtlTxInf SplmtryData",
    ),
    (
        "TxDtls/Refs",
        "MsgId AcctSvcrRef PmtInfId InstrId EndToEndId UETR TxId MndtId ChqNb ClrSysRef \
            AcctOwnrTxId AcctSvcrTxId MktInfrstrctrTxId PrcgId Prtry",
    ),
    (
        "TxDtls/RltdPties",
        "InitgPty Dbtr DbtrAcct UltmtDbtr Cdtr CdtrAcct UltmtCdtr TradgPty Prtry",
    ),
    ("RltdPties/Dbtr", "Pty Agt"),
    ("RltdPties/Cdtr", "Pty Agt"),
    ("*/Pty", PARTY),
    (
        "TxDtls/RltdAgts",
        "DbtrAgt CdtrAgt IntrmyAgt1 IntrmyAgt2 IntrmyAgt3",
    ),
    ("*/RmtInf", "Ustrd Strd"),
    // pain
    ("Document/CstmrCdtTrfInitn", "GrpHdr PmtInf SplmtryData"),
    ("Document/CstmrDrctDbtInitn", "GrpHdr PmtInf SplmtryData"),
    (
        "CstmrCdtTrfInitn/GrpHdr",
        "MsgId CreDtTm Authstn NbOfTxs CtrlSum InitgPty FwdgAgt",
    ),
    (
        "CstmrDrctDbtInitn/GrpHdr",
        "MsgId CreDtTm Authstn NbOfTxs CtrlSum InitgPty FwdgAgt",
    ),
    ("GrpHdr/InitgPty", PARTY),
    (
        "CstmrCdtTrfInitn/PmtInf",
        "PmtInfId PmtMtd BtchBookg NbOfTxs CtrlSum PmtTpInf ReqdExctnDt PoolgAdjstmntDt Dbtr \
            DbtrAcct DbtrAgt DbtrAgtAcct InstrForDbtrAgt UltmtDbtr ChrgBr ChrgsAcct \
            ChrgsAcctAgt CdtTrfTxInf",
    ),
    (
        "CstmrDrctDbtInitn/PmtInf",
        "PmtInfId PmtMtd BtchBookg NbOfTxs CtrlSum PmtTpInf ReqdColltnDt Cdtr CdtrAcct CdtrAgt \
            CdtrAgtAcct UltmtCdtr ChrgBr ChrgsAcct ChrgsAcctAgt CdtrSchmeId DrctDbtTxInf",
    ),
    (
        "PmtInf/PmtTpInf",
        "InstrPrty SvcLvl LclInstrm SeqTp CtgyPurp",
    ),
    ("PmtTpInf/SvcLvl", CODE_OR_PROPRIETARY),
    ("PmtTpInf/LclInstrm", CODE_OR_PROPRIETARY),
    ("PmtTpInf/CtgyPurp", CODE_OR_PROPRIETARY),
    ("PmtInf/ReqdExctnDt", DATE_CHOICE),
    ("PmtInf/Dbtr", PARTY),
    ("PmtInf/Cdtr", PARTY),
    ("CdtTrfTxInf/Cdtr", PARTY),
    ("DrctDbtTxInf/Dbtr", PARTY),
    ("*/DbtrAcct", CASH_ACCOUNT),
    ("*/CdtrAcct", CASH_ACCOUNT),
    ("DbtrAcct/Id", "IBAN Othr"),
    ("CdtrAcct/Id", "IBAN Othr"),
    ("*/DbtrAgt", AGENT),
    ("*/CdtrAgt", AGENT),
    ("DbtrAgt/FinInstnId", FIN_INSTN_ID),
    ("CdtrAgt/FinInstnId", FIN_INSTN_ID),
    ("FinInstnId/Othr", "Id SchmeNm Issr"),
    ("PmtInf/CdtrSchmeId", PARTY),
    ("CdtrSchmeId/Id", "OrgId PrvtId"),
    ("Id/PrvtId", "DtAndPlcOfBirth Othr"),
    ("PrvtId/Othr", "Id SchmeNm Issr"),
    ("Othr/SchmeNm", CODE_OR_PROPRIETARY),
    (
        "PmtInf/CdtTrfTxInf",
        "PmtId PmtTpInf Amt XchgRateInf ChrgBr ChqInstr UltmtDbtr IntrmyAgt1 IntrmyAgt1Acct \
            IntrmyAgt2 IntrmyAgt2Acct IntrmyAgt3 IntrmyAgt3Acct CdtrAgt CdtrAgtAcct Cdtr \
            CdtrAcct UltmtCdtr InstrForCdtrAgt InstrForDbtrAgt Purp RgltryRptg Tax RltdRmtInf \
            RmtInf SplmtryData",
    ),
    (
        "PmtInf/DrctDbtTxInf",
        "PmtId PmtTpInf InstdAmt ChrgBr DrctDbtTx UltmtCdtr DbtrAgt DbtrAgtAcct Dbtr DbtrAcct \
            UltmtDbtr InstrForCdtrAgt Purp RgltryRptg Tax RltdRmtInf RmtInf",
    ),
    ("*/PmtId", "InstrId EndToEndId UETR"),
    ("CdtTrfTxInf/Amt", "InstdAmt EqvtAmt"),
    (
        "DrctDbtTxInf/DrctDbtTx",
        "MndtRltdInf CdtrSchmeId PreNtfctnId PreNtfctnDt",
    ),
    (
        "DrctDbtTx/MndtRltdInf",
        "MndtId DtOfSgntr AmdmntInd AmdmntInfDtls ElctrncSgntr FrstColltnDt FnlColltnDt Frqcy \
            Rsn TrckgDays",
    ),
];

fn sequence_for(parent: &str, name: &str) -> Option<&'static str> {
    let exact = format!("{parent}/{name}");
    let any = format!("*/{name}");
    SEQUENCES
        .iter()
        .find(|(key, _)| *key == exact)
        .or_else(|| SEQUENCES.iter().find(|(key, _)| *key == any))
        .map(|(_, children)| *children)
}

/// Checks every element below `node`; returns a description of the first violation.
fn check(node: roxmltree::Node, namespace: &str) -> Result<(), String> {
    let name = node.tag_name().name();
    if node.tag_name().namespace() != Some(namespace) {
        return Err(format!("{name} is not in {namespace}"));
    }
    let children: Vec<_> = node.children().filter(|c| c.is_element()).collect();
    if children.is_empty() {
        let has_text = node.text().is_some_and(|t| !t.trim().is_empty());
        return if has_text {
            Ok(())
        } else {
            Err(format!("{name} is empty"))
        };
    }
    let parent = node
        .parent_element()
        .map(|p| p.tag_name().name())
        .unwrap_or("");
    let sequence = sequence_for(parent, name)
        .ok_or_else(|| format!("no schema sequence for {parent}/{name}"))?;
    let mut last = 0;
    for child in &children {
        let child_name = child.tag_name().name();
        let position = sequence
            .split_whitespace()
            .position(|s| s == child_name)
            .ok_or_else(|| format!("{child_name} is not allowed in {parent}/{name}"))?;
        if position < last {
            return Err(format!("{child_name} is out of order in {parent}/{name}"));
        }
        last = position;
        check(*child, namespace)?;
    }
    Ok(())
}

fn assert_schema_order(xml: &str, namespace: &str) {
    let doc = roxmltree::Document::parse(xml).expect("well-formed");
    if let Err(problem) = check(doc.root_element(), namespace) {
        panic!("{namespace}: {problem}");
    }
}

#[test]
fn generated_camt_documents_follow_schema_order() {
    let ledger = ledger(31, date(2024, 1, 30), date(2024, 2, 1), 20);
    for kind in [CamtKind::Camt052, CamtKind::Camt053, CamtKind::Camt054] {
        for opening in [
            OpeningBalanceType::OpeningBooked,
            OpeningBalanceType::PreviouslyClosedBooked,
        ] {
            let mut request = StatementRequest::new(kind, "M1", datetime(2024, 2, 2, 6, 0));
            request.opening_balance = opening;
            let xml = camt::generate(&ledger, &request);
            assert_schema_order(&xml, &kind.generated_namespace());
        }
    }
}

#[test]
fn built_pain_documents_follow_schema_order() {
    for version in PainVersion::ALL {
        // The sample order with every optional element set, so that each one's place is checked.
        let mut order = sample_order(version);
        let dd = version.kind() == pain::PaymentKind::DirectDebit;
        let info = &mut order.payment_infos[0];
        info.local_instrument = Some(if dd { "CORE" } else { "INST" }.into());
        info.category_purpose = Some("SUPP".into());
        for (n, tx) in info.transactions.iter_mut().enumerate() {
            tx.instruction_id = Some(format!("I{n}"));
        }
        info.transactions[1].counterparty.bic = Some(account().bic);
        assert_schema_order(&pain::build(&order).unwrap(), version.namespace());
    }
}

#[test]
fn the_checker_catches_out_of_order_elements() {
    let ledger = ledger(31, date(2024, 1, 30), date(2024, 1, 30), 2);
    let xml = camt::generate(
        &ledger,
        &StatementRequest::new(CamtKind::Camt053, "M1", datetime(2024, 2, 2, 6, 0)),
    );
    // Move AddtlNtryInf before NtryDtls.
    let broken = xml.replacen("<NtryDtls>", "<AddtlNtryInf>x</AddtlNtryInf><NtryDtls>", 1);
    let doc = roxmltree::Document::parse(&broken).unwrap();
    assert!(check(doc.root_element(), &CamtKind::Camt053.generated_namespace()).is_err());
}
