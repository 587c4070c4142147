//! Encapsulated interface transport (FC 43): read device identification (MEI type 14).
//!
//! A request names a read device id code (1 basic, 2 regular, 3 extended stream, 4 one object)
//! and the object to start at; the response returns the conformity level, whether more objects
//! follow (and which is next), and a list of objects, each an id, a length and a value. CANopen
//! general reference (MEI type 13) carries a CANopen PDU, kept raw.

use super::message::Reader;

mod field {
    pub const NUM_OBJECTS: usize = 4;
    pub const OBJECTS: usize = 5;
}

/// A read device identification request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceIdRequest {
    pub read_device_id_code: u8,
    pub object_id: u8,
}

impl DeviceIdRequest {
    /// Read the request from the MEI data (after the MEI type); `None` when short.
    pub fn parse(data: &[u8]) -> Option<Self> {
        let mut r = Reader(data);
        Some(DeviceIdRequest {
            read_device_id_code: r.u8()?,
            object_id: r.u8()?,
        })
    }
}

/// A read device identification response, over its MEI data (after the MEI type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceIdResponse<'a> {
    pub read_device_id_code: u8,
    pub conformity_level: u8,
    pub more_follows: u8,
    pub next_object_id: u8,
    pub number_of_objects: u8,
    objects: &'a [u8],
}

/// One identification object: 0 vendor name, 1 product code, 2 revision, 3 vendor URL, …
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Object<'a> {
    pub id: u8,
    pub value: &'a [u8],
}

impl<'a> DeviceIdResponse<'a> {
    /// Read the fixed part; `None` when the data is shorter than it.
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let mut r = Reader(data);
        Some(DeviceIdResponse {
            read_device_id_code: r.u8()?,
            conformity_level: r.u8()?,
            more_follows: r.u8()?,
            next_object_id: r.u8()?,
            number_of_objects: r.u8()?,
            objects: data.get(field::OBJECTS..)?,
        })
        .filter(|_| data.len() > field::NUM_OBJECTS)
    }

    /// The objects that lie whole inside the data, at most `number_of_objects`.
    pub fn objects(&self) -> Objects<'a> {
        Objects {
            rest: self.objects,
            left: self.number_of_objects,
        }
    }

    /// Whether the announced objects fill the data exactly.
    pub fn is_well_formed(&self) -> bool {
        let mut it = self.objects();
        let count = it.by_ref().count();
        count == usize::from(self.number_of_objects) && it.rest.is_empty()
    }
}

/// Iterator over the objects of a [`DeviceIdResponse`].
#[derive(Clone, Debug)]
pub struct Objects<'a> {
    rest: &'a [u8],
    left: u8,
}

impl<'a> Iterator for Objects<'a> {
    type Item = Object<'a>;

    fn next(&mut self) -> Option<Object<'a>> {
        if self.left == 0 {
            return None;
        }
        let mut r = Reader(self.rest);
        let id = r.u8()?;
        let len = r.u8()?;
        let value = r.take(usize::from(len))?;
        self.rest = r.rest();
        self.left -= 1;
        Some(Object { id, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The MEI data of a read device id response (basic, conformity 0x81): vendor "Company
    /// identification", product code "Product code XX", revision "V2.11" — the example of the
    /// Modbus Application Protocol v1.1b3, §6.21.
    static RESPONSE: &[u8] =
        b"\x01\x81\x00\x00\x03\x00\x16Company identification\x01\x0fProduct code XX\x02\x05V2.11";

    #[test]
    fn spec_example() {
        let r = DeviceIdResponse::parse(RESPONSE).unwrap();
        assert_eq!(r.read_device_id_code, 1);
        assert_eq!(r.conformity_level, 0x81);
        assert_eq!(r.number_of_objects, 3);
        let objs: Vec<_> = r.objects().collect();
        assert_eq!(objs.len(), 3);
        assert_eq!(objs[0].value, b"Company identification");
        assert_eq!(
            objs[2],
            Object {
                id: 2,
                value: b"V2.11"
            }
        );
        assert!(r.is_well_formed());
        let cut = DeviceIdResponse::parse(&RESPONSE[..RESPONSE.len() - 1]).unwrap();
        assert_eq!(cut.objects().count(), 2);
        assert!(!cut.is_well_formed());
        assert!(DeviceIdResponse::parse(&RESPONSE[..4]).is_none());
        assert_eq!(
            DeviceIdRequest::parse(&[1, 0]),
            Some(DeviceIdRequest {
                read_device_id_code: 1,
                object_id: 0
            })
        );
    }
}
