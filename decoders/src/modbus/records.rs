//! File records (FC 20, 21) and FIFO queues (FC 24): bodies `sawp-modbus` keeps as bytes,
//! decoded here into their items.

use super::message::{words, Reader};

/// One sub-request of a read file record request (FC 20): 7 bytes, no data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRecord<'a> {
    pub reference_type: u8,
    pub file_number: u16,
    pub record_number: u16,
    /// Record length in registers.
    pub record_length: u16,
    /// The record data (FC 21 requests and responses; empty in FC 20 requests).
    pub data: &'a [u8],
}

/// Iterator over the sub-requests of an FC 20 request or an FC 21 request or response: a byte
/// count, then records of reference type (6), file number, record number, record length and,
/// for writes, `2 × record length` bytes of data.
#[derive(Clone, Debug)]
pub struct FileRecords<'a> {
    rest: &'a [u8],
    with_data: bool,
}

impl<'a> FileRecords<'a> {
    /// Over a request or response body (after the function code); `with_data` for FC 21.
    pub fn new(body: &'a [u8], with_data: bool) -> Self {
        let mut r = Reader(body);
        let count = r.u8().map_or(0, usize::from);
        FileRecords {
            rest: r.rest().get(..count).unwrap_or(r.rest()),
            with_data,
        }
    }
}

impl<'a> Iterator for FileRecords<'a> {
    type Item = FileRecord<'a>;

    fn next(&mut self) -> Option<FileRecord<'a>> {
        let mut r = Reader(self.rest);
        let reference_type = r.u8()?;
        let file_number = r.u16()?;
        let record_number = r.u16()?;
        let record_length = r.u16()?;
        let data = if self.with_data {
            r.take(2 * usize::from(record_length))?
        } else {
            &[]
        };
        self.rest = r.rest();
        Some(FileRecord {
            reference_type,
            file_number,
            record_number,
            record_length,
            data,
        })
    }
}

/// One sub-response of a read file record response (FC 20): its reference type and data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRecordData<'a> {
    pub reference_type: u8,
    pub data: &'a [u8],
}

/// Iterator over the sub-responses of an FC 20 response: a response data length, then for each
/// record a file response length (reference type and data), the reference type and the data.
#[derive(Clone, Debug)]
pub struct FileRecordResponses<'a> {
    rest: &'a [u8],
}

impl<'a> FileRecordResponses<'a> {
    pub fn new(body: &'a [u8]) -> Self {
        let mut r = Reader(body);
        let count = r.u8().map_or(0, usize::from);
        FileRecordResponses {
            rest: r.rest().get(..count).unwrap_or(r.rest()),
        }
    }
}

impl<'a> Iterator for FileRecordResponses<'a> {
    type Item = FileRecordData<'a>;

    fn next(&mut self) -> Option<FileRecordData<'a>> {
        let mut r = Reader(self.rest);
        let len = usize::from(r.u8()?);
        let reference_type = r.u8()?;
        let data = r.take(len.checked_sub(1)?)?;
        self.rest = r.rest();
        Some(FileRecordData {
            reference_type,
            data,
        })
    }
}

/// A read FIFO queue response (FC 24): a byte count, the FIFO count and up to 31 registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fifo<'a> {
    pub byte_count: u16,
    pub fifo_count: u16,
    values: &'a [u8],
}

impl<'a> Fifo<'a> {
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        let mut r = Reader(body);
        Some(Fifo {
            byte_count: r.u16()?,
            fifo_count: r.u16()?,
            values: r.rest(),
        })
    }

    /// The queued registers, at most `fifo_count`.
    pub fn values(&self) -> impl Iterator<Item = u16> + Clone + 'a {
        words(self.values).take(usize::from(self.fifo_count))
    }

    /// Whether the counts agree with each other and with the data.
    pub fn is_well_formed(&self) -> bool {
        usize::from(self.byte_count) == 2 + self.values.len()
            && self.values.len() == 2 * usize::from(self.fifo_count)
            && self.fifo_count <= 31
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        // FC 20 request of the specification (§6.14): two sub-requests.
        let req = [0x0e, 6, 0, 4, 0, 1, 0, 2, 6, 0, 3, 0, 9, 0, 2];
        let recs: Vec<_> = FileRecords::new(&req, false).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(
            (
                recs[0].file_number,
                recs[0].record_number,
                recs[0].record_length
            ),
            (4, 1, 2)
        );
        assert_eq!((recs[1].file_number, recs[1].record_number), (3, 9));
        // Its response.
        let resp = [
            0x0c, 0x05, 6, 0x0d, 0xfe, 0x00, 0x20, 0x05, 6, 0x33, 0xcd, 0x00, 0x40,
        ];
        let data: Vec<_> = FileRecordResponses::new(&resp).collect();
        assert_eq!(data.len(), 2);
        assert_eq!(data[1].data, &[0x33, 0xcd, 0x00, 0x40]);
        // FC 21 request (§6.15): one record of 3 registers.
        let wr = [
            0x0d, 6, 0, 4, 0, 7, 0, 3, 0x06, 0xaf, 0x04, 0xbe, 0x10, 0x0d,
        ];
        let recs: Vec<_> = FileRecords::new(&wr, true).collect();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].data.len(), 6);
        // FC 24 response (§6.18): two registers.
        let fifo = Fifo::parse(&[0, 6, 0, 2, 0x01, 0xb8, 0x12, 0x84]).unwrap();
        assert!(fifo.is_well_formed());
        assert_eq!(fifo.values().collect::<Vec<_>>(), [0x01b8, 0x1284]);
    }
}
