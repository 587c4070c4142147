//! The `fileinfo` object, as Suricata writes it for a file a transaction carried (an HTTP
//! body or upload, a mail's attachment): its metadata only, since nothing is extracted.

use serde::Serialize;

use crate::app::text::Text;

#[derive(Serialize)]
pub struct Fileinfo<'a> {
    pub filename: Text<'a>,
    pub gaps: bool,
    /// `CLOSED` when the whole file came, `TRUNCATED` when it was cut short.
    pub state: &'static str,
    pub stored: bool,
    pub size: u64,
    /// The part of the whole this file is, by an HTTP `Content-Range`: first and last byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<u64>,
    pub tx_id: u64,
}

impl<'a> Fileinfo<'a> {
    /// A file of `size` bytes, all of it seen (`complete`) or not, carried by transaction
    /// `tx_id` without gaps.
    pub fn new(filename: &'a [u8], size: u64, complete: bool, tx_id: u64) -> Self {
        Fileinfo {
            filename: Text(filename),
            gaps: false,
            state: if complete { "CLOSED" } else { "TRUNCATED" },
            stored: false,
            size,
            start: None,
            end: None,
            tx_id,
        }
    }
}
