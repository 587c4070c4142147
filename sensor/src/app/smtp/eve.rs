//! The `smtp` event, as Suricata writes it: the `smtp` object (the connection's `helo`, the
//! envelope) and the `email` object (the headers it logs by default and the attachments'
//! names); and a `fileinfo` event per attachment (its metadata: nothing is extracted).

use decoders::smtp::Transaction;
use serde::Serialize;

pub use crate::app::fileinfo::Fileinfo;
use crate::app::text::{Text, Texts};

#[derive(Serialize)]
pub struct Body<'a> {
    pub tx_id: u64,
    pub smtp: Smtp<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailLog<'a>>,
}

#[derive(Serialize)]
pub struct Smtp<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helo: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<Text<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty", serialize_with = "texts")]
    pub rcpt_to: &'a [Vec<u8>],
}

#[derive(Serialize)]
pub struct EmailLog<'a> {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Text<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty", serialize_with = "texts")]
    pub to: &'a [Vec<u8>],
    #[serde(skip_serializing_if = "<[_]>::is_empty", serialize_with = "texts")]
    pub cc: &'a [Vec<u8>],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<Text<'a>>,
}

fn texts<S: serde::Serializer>(v: &&[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    Texts(v).serialize(s)
}

fn some(b: &[u8]) -> Option<Text<'_>> {
    (!b.is_empty()).then_some(Text(b))
}

impl<'a> Body<'a> {
    pub fn new(tx_id: u64, helo: &'a [u8], tx: &'a Transaction) -> Self {
        let e = &tx.email;
        let email = tx.message_done.then(|| EmailLog {
            status: if e.parsed {
                "PARSE_DONE"
            } else {
                "PARSE_ERROR"
            },
            from: some(&e.from),
            to: &e.to,
            cc: &e.cc,
            attachment: e.attachments.iter().map(|a| Text(&a.name)).collect(),
        });
        Body {
            tx_id,
            smtp: Smtp {
                helo: some(helo),
                mail_from: some(&tx.mail_from),
                rcpt_to: &tx.rcpt_to,
            },
            email,
        }
    }
}

/// A `fileinfo` event: an attachment, with its transaction's `smtp` object.
#[derive(Serialize)]
pub struct FileBody<'a> {
    pub tx_id: u64,
    pub smtp: Smtp<'a>,
    pub fileinfo: Fileinfo<'a>,
}
