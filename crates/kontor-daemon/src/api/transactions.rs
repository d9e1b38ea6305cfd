//! `/v1/transactions`: EBICS transactions with their segments and append-only event trail.

use kontor_storage::{Segment, Transaction, TransactionEvent, TransactionId};

use super::records::{children_granted, list_visible, show_granted};
use super::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/transactions",
            "List EBICS transactions",
            list_visible::<Transaction>,
        )
        .read(
            "/v1/transactions/{id}",
            "Show an EBICS transaction",
            show_granted::<TransactionId>,
        )
        .read(
            "/v1/transactions/{id}/segments",
            "Segments of a transaction",
            children_granted::<Segment>,
        )
        .read(
            "/v1/transactions/{id}/events",
            "Append-only event trail of a transaction",
            children_granted::<TransactionEvent>,
        )
}
