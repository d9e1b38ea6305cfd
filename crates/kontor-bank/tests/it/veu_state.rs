//! The distributed signature (VEU) through the shared state API, without the protocol.

use crate::support;

use chrono::Utc;
use kontor_bank::config::SignatureClass;
use kontor_bank::ids::OrderId;
use kontor_bank::state::{OrderStatus, VeuError, VeuStatus};
use kontor_bank::{BankConfig, BankState};
use rust_decimal::Decimal;
use support::{p, record_pending_cct, u};

#[test]
fn a_veu_release_accepts_the_order() {
    let s = BankState::from_config(&BankConfig::demo().expect("demo config"));
    let now = Utc::now();
    let order_id = record_pending_cct(&s, "USER2", Some(Decimal::new(1000, 0)));
    assert_eq!(s.received_order_count(), 1);
    // A then B: the order waits for the second signature and is accepted with it.
    let steps = [
        (
            "USER2",
            SignatureClass::A,
            VeuStatus::Pending,
            OrderStatus::AwaitingSignatures,
        ),
        (
            "USER3",
            SignatureClass::B,
            VeuStatus::Released,
            OrderStatus::Accepted,
        ),
    ];
    for (signer, class, veu, order) in steps {
        assert_eq!(
            s.sign_veu(&p("PARTNER1"), order_id, u(signer), class, now),
            Ok(veu),
            "{signer}"
        );
        assert_eq!(
            s.received_order(&p("PARTNER1"), order_id).map(|o| o.status),
            Some(order),
            "{signer}"
        );
    }
    let missing = s.sign_veu(
        &p("PARTNER1"),
        OrderId::from_index(99).expect("id"),
        u("USER1"),
        SignatureClass::E,
        now,
    );
    assert!(matches!(missing, Err(VeuError::UnknownOrder(_))));
}
