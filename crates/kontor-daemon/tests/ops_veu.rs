//! VEU: the bank's overview synced into veu_items, approval (HVE) and cancellation (HVS).

mod ops_support;

use std::num::NonZeroU32;
use std::sync::Mutex;

use chrono::Utc;
use kontor_daemon::services::veu::{
    approve, cancel, sync, VeuApproval, VeuBank, VeuDetails, VeuError, VeuOverviewItem,
};
use kontor_protocol::orderdata::{
    AuthorisationLevel, DataDigest, OrderKind, OriginatorInfo, SignerInfo, SigningInfo,
};
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    EbicsUser, EbicsUserId, NewEbicsUser, SignatureClass, Store, TenantScope, VeuItem, VeuStatus,
};
use ops_support::{tenant, Tenant, TestDb, IBAN};

type BankOrder = (String, u32, u32, Vec<SignerInfo>);

/// A bank holding VEU orders in memory: HVE adds a signature, a fully signed order is
/// executed and leaves the overview, HVS removes it.
struct FakeBank {
    /// (bank order id, signatures required, signatures done, signers)
    orders: Mutex<Vec<BankOrder>>,
    executed: Mutex<Vec<String>>,
}

impl FakeBank {
    fn with_order(order_id: &str, required: u32) -> Self {
        Self {
            orders: Mutex::new(vec![(
                order_id.into(),
                required,
                1,
                vec![signer("USER1", AuthorisationLevel::A)],
            )]),
            executed: Mutex::new(Vec::new()),
        }
    }
}

fn signer(user: &str, level: AuthorisationLevel) -> SignerInfo {
    SignerInfo {
        partner_id: "PARTNER1".into(),
        user_id: user.into(),
        name: None,
        timestamp: Utc::now(),
        authorisation_level: level,
    }
}

impl VeuBank for FakeBank {
    async fn overview(
        &self,
        _scope: &TenantScope,
        _user: EbicsUserId,
    ) -> Result<Vec<VeuOverviewItem>, VeuError> {
        Ok(self
            .orders
            .lock()
            .unwrap()
            .iter()
            .map(|(id, required, done, signers)| VeuOverviewItem {
                order: OrderKind::order_type("CCT"),
                order_id: id.clone(),
                signing_info: SigningInfo {
                    ready_to_be_signed: true,
                    num_sig_required: NonZeroU32::new(*required).unwrap(),
                    num_sig_done: *done,
                },
                signers: signers.clone(),
                originator: OriginatorInfo {
                    partner_id: "PARTNER1".into(),
                    user_id: "USER1".into(),
                    name: None,
                    timestamp: Utc::now(),
                },
                amount: Some("1250.00".into()),
                currency: Some("EUR".into()),
                data_digest: Some(DataDigest {
                    signature_version: Some(SignatureVersion::A006),
                    digest: vec![0; 32],
                }),
            })
            .collect())
    }

    async fn details(
        &self,
        _scope: &TenantScope,
        _user: EbicsUserId,
        _item: &VeuItem,
    ) -> Result<VeuDetails, VeuError> {
        Err(VeuError::Unreadable {
            order_type: "HVD",
            message: "not needed here".into(),
        })
    }

    async fn sign(
        &self,
        _scope: &TenantScope,
        signer_user: &EbicsUser,
        item: &VeuItem,
        _version: SignatureVersion,
        _signature: &[u8],
    ) -> Result<(), VeuError> {
        let mut orders = self.orders.lock().unwrap();
        let index = orders
            .iter()
            .position(|o| o.0 == item.bank_order_id)
            .ok_or_else(|| VeuError::Bank {
                order_type: "HVE".into(),
                code: "091009".into(),
                text: "unknown order".into(),
            })?;
        let order = &mut orders[index];
        order.2 += 1;
        order
            .3
            .push(signer(&signer_user.user_id, AuthorisationLevel::B));
        if order.2 >= order.1 {
            let (id, ..) = orders.remove(index);
            self.executed.lock().unwrap().push(id);
        }
        Ok(())
    }

    async fn cancel(
        &self,
        _scope: &TenantScope,
        _user: &EbicsUser,
        item: &VeuItem,
        _version: SignatureVersion,
        _signature: &[u8],
    ) -> Result<(), VeuError> {
        self.orders
            .lock()
            .unwrap()
            .retain(|o| o.0 != item.bank_order_id);
        Ok(())
    }
}

async fn second_signer(store: &Store, t: &Tenant) -> EbicsUserId {
    let mut tx = store.scope(&t.scope).begin().await.unwrap();
    let user = tx
        .ebics_users()
        .create(NewEbicsUser {
            connection_id: t.connection,
            user_id: "USER2".into(),
            system_id: None,
            name: "Bert".into(),
            signature_class: SignatureClass::B,
        })
        .await
        .unwrap()
        .id;
    tx.commit().await.unwrap();
    user
}

async fn items(store: &Store, t: &Tenant, status: VeuStatus) -> Vec<VeuItem> {
    let mut tx = store.scope(&t.scope).begin().await.unwrap();
    tx.veu_items().list_by_status(status).await.unwrap()
}

async fn order_needing_two_signatures_is_approved_and_executed(db: &TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let bert = second_signer(&db.store, &t).await;
    let bank = FakeBank::with_order("A001", 2);

    let report = sync(&db.store, &bank, &t.scope, t.user).await.unwrap();
    assert_eq!(report.listed, 1);
    let pending = items(&db.store, &t, VeuStatus::Pending).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (
            pending[0].signatures_collected,
            pending[0].signatures_required
        ),
        (1, 2)
    );
    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    let signers = tx.veu_items().signers(pending[0].id).await.unwrap();
    assert_eq!(signers.len(), 1);
    assert_eq!(signers[0].signature_class, SignatureClass::A);
    drop(tx);

    // A sync repeated finds the same item, not a second one.
    sync(&db.store, &bank, &t.scope, t.user).await.unwrap();
    assert_eq!(items(&db.store, &t, VeuStatus::Pending).await.len(), 1);

    let signed = approve(
        &db.store,
        &bank,
        &t.scope,
        VeuApproval {
            item: pending[0].id,
            signer: bert,
            version: SignatureVersion::A006,
            signature: vec![1; 256],
        },
    )
    .await
    .unwrap();
    assert_eq!(signed.status, VeuStatus::Signed);
    assert_eq!(*bank.executed.lock().unwrap(), vec!["A001".to_string()]);

    let report = sync(&db.store, &bank, &t.scope, t.user).await.unwrap();
    assert_eq!(report.executed, 1);
    assert_eq!(items(&db.store, &t, VeuStatus::Executed).await.len(), 1);
}

async fn cancelled_order_is_marked_and_cannot_be_approved(db: &TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let bert = second_signer(&db.store, &t).await;
    let bank = FakeBank::with_order("A002", 2);
    sync(&db.store, &bank, &t.scope, t.user).await.unwrap();
    let item = items(&db.store, &t, VeuStatus::Pending).await.remove(0);
    let request = |signer| VeuApproval {
        item: item.id,
        signer,
        version: SignatureVersion::A006,
        signature: vec![1; 256],
    };
    let cancelled = cancel(&db.store, &bank, &t.scope, request(t.user))
        .await
        .unwrap();
    assert_eq!(cancelled.status, VeuStatus::Cancelled);
    let refused = approve(&db.store, &bank, &t.scope, request(bert)).await;
    assert!(matches!(
        refused,
        Err(VeuError::WrongStatus(VeuStatus::Cancelled))
    ));
    assert!(bank.executed.lock().unwrap().is_empty());
}

on_both_databases!(
    order_needing_two_signatures_is_approved_and_executed,
    cancelled_order_is_marked_and_cannot_be_approved,
);
