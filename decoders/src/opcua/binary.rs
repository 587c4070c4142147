//! OPC UA Binary encoding (OPC 10000-6, 5.2): the built-in types a service body is made of,
//! read from a borrowed buffer. Every read checks its length and returns `None` when the
//! bytes run out or say something impossible; nested types (a Variant holding a
//! DiagnosticInfo holding another …) are followed to a fixed depth.

use core::fmt;
use core::marker::PhantomData;

/// How deep nested Variants, DataValues and DiagnosticInfos are followed.
const MAX_DEPTH: u8 = 8;

/// A cursor over encoded bytes.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    depth: u8,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, depth: 0 }
    }

    /// What has not been read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.array()?))
    }

    pub fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.array()?))
    }

    pub fn boolean(&mut self) -> Option<bool> {
        Some(self.u8()? != 0)
    }

    /// A String or ByteString: an Int32 length (-1 for null) and the octets. Null reads as
    /// empty.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        match self.i32()? {
            -1 => Some(&[]),
            n => self.take(usize::try_from(n).ok()?),
        }
    }

    /// An array's length: -1 (null) is none; a count the rest could not hold (every element
    /// takes at least one octet) is refused.
    pub fn count(&mut self) -> Option<u32> {
        match self.i32()? {
            -1 => Some(0),
            n => {
                let n = u32::try_from(n).ok()?;
                (n as usize <= self.bytes.len()).then_some(n)
            }
        }
    }

    pub fn node_id(&mut self) -> Option<NodeId<'a>> {
        let encoding = self.u8()?;
        self.node_id_as(encoding & 0x3f)
    }

    fn node_id_as(&mut self, encoding: u8) -> Option<NodeId<'a>> {
        Some(match encoding {
            0 => NodeId::numeric(0, u32::from(self.u8()?)),
            1 => NodeId::numeric(u16::from(self.u8()?), u32::from(self.u16()?)),
            2 => NodeId::numeric(self.u16()?, self.u32()?),
            3 => NodeId {
                ns: self.u16()?,
                id: Identifier::String(self.bytes()?),
            },
            4 => NodeId {
                ns: self.u16()?,
                id: Identifier::Guid(self.array()?),
            },
            5 => NodeId {
                ns: self.u16()?,
                id: Identifier::Opaque(self.bytes()?),
            },
            _ => return None,
        })
    }

    /// An ExpandedNodeId: a NodeId whose encoding octet's top bits add a namespace URI and a
    /// server index (both skipped).
    pub fn expanded_node_id(&mut self) -> Option<NodeId<'a>> {
        let encoding = self.u8()?;
        let id = self.node_id_as(encoding & 0x3f)?;
        if encoding & 0x80 != 0 {
            self.bytes()?;
        }
        if encoding & 0x40 != 0 {
            self.u32()?;
        }
        Some(id)
    }

    /// A QualifiedName's name (its namespace index skipped).
    pub fn qualified_name(&mut self) -> Option<&'a [u8]> {
        self.u16()?;
        self.bytes()
    }

    /// A LocalizedText's text (its locale skipped).
    pub fn localized_text(&mut self) -> Option<&'a [u8]> {
        let mask = self.u8()?;
        if mask & 0x01 != 0 {
            self.bytes()?;
        }
        if mask & 0x02 != 0 {
            return self.bytes();
        }
        Some(&[])
    }

    /// An ExtensionObject: its type's NodeId and its encoded body (empty when it has none).
    pub fn extension_object(&mut self) -> Option<(NodeId<'a>, &'a [u8])> {
        let ty = self.node_id()?;
        let body = match self.u8()? {
            0 => &[][..],
            1 | 2 => self.bytes()?,
            _ => return None,
        };
        Some((ty, body))
    }

    /// Steps over a DiagnosticInfo.
    pub fn skip_diagnostic_info(&mut self) -> Option<()> {
        let mask = self.u8()?;
        for bit in [0x01, 0x02, 0x08, 0x04] {
            if mask & bit != 0 {
                self.i32()?;
            }
        }
        if mask & 0x10 != 0 {
            self.bytes()?;
        }
        if mask & 0x20 != 0 {
            self.u32()?;
        }
        if mask & 0x40 != 0 {
            self.nested(|r| r.skip_diagnostic_info())?;
        }
        Some(())
    }

    /// Steps over an array of DiagnosticInfos.
    pub fn skip_diagnostic_infos(&mut self) -> Option<()> {
        for _ in 0..self.count()? {
            self.skip_diagnostic_info()?;
        }
        Some(())
    }

    /// Steps over an array of Strings.
    pub fn skip_strings(&mut self) -> Option<()> {
        for _ in 0..self.count()? {
            self.bytes()?;
        }
        Some(())
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let v = f(self);
        self.depth -= 1;
        v
    }

    /// A Variant: a scalar is read; an array, or a type without a scalar reading here, is
    /// stepped over and named by its type.
    pub fn variant(&mut self) -> Option<Value<'a>> {
        let mask = self.u8()?;
        let ty = mask & 0x3f;
        if mask & 0x80 == 0 {
            return self.scalar(ty);
        }
        let n = self.count()?;
        for _ in 0..n {
            self.scalar(ty)?;
        }
        if mask & 0x40 != 0 {
            for _ in 0..self.count()? {
                self.i32()?;
            }
        }
        Some(Value::Array { ty, len: n })
    }

    fn scalar(&mut self, ty: u8) -> Option<Value<'a>> {
        Some(match ty {
            0 => Value::Null,
            1 => Value::Bool(self.boolean()?),
            2 => Value::Int(i64::from(self.u8()? as i8)),
            3 => Value::UInt(u64::from(self.u8()?)),
            4 => Value::Int(i64::from(self.u16()? as i16)),
            5 => Value::UInt(u64::from(self.u16()?)),
            6 => Value::Int(i64::from(self.i32()?)),
            7 => Value::UInt(u64::from(self.u32()?)),
            8 => Value::Int(self.i64()?),
            9 => Value::UInt(self.i64()? as u64),
            10 => Value::Float(f64::from(f32::from_le_bytes(self.array()?))),
            11 => Value::Float(self.f64()?),
            12 => Value::String(self.bytes()?),
            13 => Value::DateTime(self.i64()?),
            19 => Value::Status(self.u32()?),
            14 => {
                self.take(16)?;
                Value::Other(ty)
            }
            15 | 16 => {
                self.bytes()?;
                Value::Other(ty)
            }
            17 => Value::NodeId(self.node_id()?),
            18 => Value::NodeId(self.expanded_node_id()?),
            20 => Value::String(self.qualified_name()?),
            21 => Value::String(self.localized_text()?),
            22 => {
                self.extension_object()?;
                Value::Other(ty)
            }
            23 => {
                self.nested(|r| r.data_value())?;
                Value::Other(ty)
            }
            24 => {
                self.nested(|r| r.variant())?;
                Value::Other(ty)
            }
            25 => {
                self.skip_diagnostic_info()?;
                Value::Other(ty)
            }
            _ => return None,
        })
    }

    /// A DataValue: its value and status code, the time stamps stepped over.
    pub fn data_value(&mut self) -> Option<DataValue<'a>> {
        let mask = self.u8()?;
        let value = match mask & 0x01 {
            0 => None,
            _ => Some(self.nested(|r| r.variant())?),
        };
        let status = match mask & 0x02 {
            0 => 0,
            _ => self.u32()?,
        };
        for (bit, n) in [(0x04, 8), (0x10, 2), (0x08, 8), (0x20, 2)] {
            if mask & bit != 0 {
                self.take(n)?;
            }
        }
        Some(DataValue { value, status })
    }
}

/// What a NodeId names within its namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Identifier<'a> {
    Numeric(u32),
    String(&'a [u8]),
    Guid([u8; 16]),
    Opaque(&'a [u8]),
}

/// A node of an address space, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId<'a> {
    pub ns: u16,
    pub id: Identifier<'a>,
}

impl NodeId<'_> {
    pub const fn numeric(ns: u16, id: u32) -> Self {
        NodeId {
            ns,
            id: Identifier::Numeric(id),
        }
    }

    /// The identifier of a namespace-0 numeric node (a standard type or service).
    pub fn standard(&self) -> Option<u32> {
        match (self.ns, self.id) {
            (0, Identifier::Numeric(n)) => Some(n),
            _ => None,
        }
    }

    /// Whether the node's standard string form is `text`, compared without building it.
    pub fn is(&self, text: &str) -> bool {
        use core::fmt::Write;
        struct Compare<'t> {
            rest: &'t str,
            equal: bool,
        }
        impl Write for Compare<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                match self.rest.strip_prefix(s) {
                    Some(r) if self.equal => self.rest = r,
                    _ => self.equal = false,
                }
                Ok(())
            }
        }
        let mut c = Compare {
            rest: text,
            equal: true,
        };
        write!(c, "{self}").is_ok() && c.equal && c.rest.is_empty()
    }

    /// Whether a node is the null NodeId (`i=0`).
    pub fn is_null(&self) -> bool {
        self.standard() == Some(0)
    }
}

/// The standard string form, `ns=2;s=Level`, `i=85`, `ns=1;g=…`, `ns=3;b=<base64>`.
impl fmt::Display for NodeId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ns != 0 {
            write!(f, "ns={};", self.ns)?;
        }
        match self.id {
            Identifier::Numeric(n) => write!(f, "i={n}"),
            Identifier::String(s) => {
                f.write_str("s=")?;
                for chunk in s.utf8_chunks() {
                    f.write_str(chunk.valid())?;
                    if !chunk.invalid().is_empty() {
                        f.write_str("\u{fffd}")?;
                    }
                }
                Ok(())
            }
            Identifier::Guid(g) => {
                let d1 = u32::from_le_bytes([g[0], g[1], g[2], g[3]]);
                let d2 = u16::from_le_bytes([g[4], g[5]]);
                let d3 = u16::from_le_bytes([g[6], g[7]]);
                write!(f, "g={d1:08x}-{d2:04x}-{d3:04x}-")?;
                for b in &g[8..10] {
                    write!(f, "{b:02x}")?;
                }
                f.write_str("-")?;
                g[10..].iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            Identifier::Opaque(b) => {
                f.write_str("b=")?;
                base64(f, b)
            }
        }
    }
}

fn base64(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for c in b.chunks(3) {
        let n = u32::from(c[0]) << 16
            | u32::from(*c.get(1).unwrap_or(&0)) << 8
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            let ch = if i <= c.len() {
                A[(n >> (18 - 6 * i) & 0x3f) as usize]
            } else {
                b'='
            };
            write!(f, "{}", ch as char)?;
        }
    }
    Ok(())
}

/// A Variant, as far as it is read: scalars of the built-in types, arrays by type and length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A String, or a QualifiedName's or LocalizedText's text.
    String(&'a [u8]),
    /// 100-nanosecond intervals since 1601-01-01.
    DateTime(i64),
    Status(u32),
    NodeId(NodeId<'a>),
    /// An array of the built-in type `ty`.
    Array {
        ty: u8,
        len: u32,
    },
    /// A scalar of the built-in type `ty` not read further.
    Other(u8),
}

impl Value<'_> {
    /// The value as a number, when it is one.
    pub fn number(&self) -> Option<f64> {
        match *self {
            Value::Bool(b) => Some(f64::from(u8::from(b))),
            Value::Int(n) => Some(n as f64),
            Value::UInt(n) => Some(n as f64),
            Value::Float(x) => Some(x),
            _ => None,
        }
    }

    /// The built-in type's name (OPC 10000-6, 5.1.2).
    pub fn type_name(&self) -> &'static str {
        let ty = match *self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => return "Number",
            Value::String(_) => 12,
            Value::DateTime(_) => 13,
            Value::Status(_) => 19,
            Value::NodeId(_) => 17,
            Value::Array { ty, .. } | Value::Other(ty) => ty,
        };
        builtin_name(ty)
    }
}

/// The name of built-in type `ty`.
pub fn builtin_name(ty: u8) -> &'static str {
    const NAMES: [&str; 26] = [
        "Null",
        "Boolean",
        "SByte",
        "Byte",
        "Int16",
        "UInt16",
        "Int32",
        "UInt32",
        "Int64",
        "UInt64",
        "Float",
        "Double",
        "String",
        "DateTime",
        "Guid",
        "ByteString",
        "XmlElement",
        "NodeId",
        "ExpandedNodeId",
        "StatusCode",
        "QualifiedName",
        "LocalizedText",
        "ExtensionObject",
        "DataValue",
        "Variant",
        "DiagnosticInfo",
    ];
    NAMES.get(usize::from(ty)).copied().unwrap_or("unknown")
}

/// A DataValue's value and status code (0, Good, when absent).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataValue<'a> {
    pub value: Option<Value<'a>>,
    pub status: u32,
}

/// A type read from a [`Reader`], element by element of an array.
pub trait Decode<'a>: Sized {
    fn decode(r: &mut Reader<'a>) -> Option<Self>;
}

impl<'a> Decode<'a> for u32 {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        r.u32()
    }
}

impl<'a> Decode<'a> for NodeId<'a> {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        r.node_id()
    }
}

impl<'a> Decode<'a> for DataValue<'a> {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        r.data_value()
    }
}

/// An encoded array, read lazily: iterating decodes one element after another and stops at
/// the first that does not decode.
pub struct Items<'a, T> {
    bytes: &'a [u8],
    count: u32,
    _of: PhantomData<T>,
}

impl<T> Clone for Items<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Items<'_, T> {}

impl<T> fmt::Debug for Items<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Items({})", self.count)
    }
}

impl<T> PartialEq for Items<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes && self.count == other.count
    }
}

impl<'a, T: Decode<'a>> Items<'a, T> {
    /// The array at `r`'s front; `r` is left after it when every element decodes, and at the
    /// end otherwise.
    pub fn read(r: &mut Reader<'a>) -> Option<Self> {
        let count = r.count()?;
        let items = Items {
            bytes: r.rest(),
            count,
            _of: PhantomData,
        };
        let mut walk = items.iter();
        for _ in 0..count {
            if walk.next().is_none() {
                *r = Reader::new(&[]);
                return Some(items);
            }
        }
        *r = walk.r;
        Some(items)
    }

    /// How many elements the array says it holds.
    pub fn len(&self) -> u32 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn iter(&self) -> ItemIter<'a, T> {
        ItemIter {
            r: Reader::new(self.bytes),
            left: self.count,
            _of: PhantomData,
        }
    }
}

impl<'a, T: Decode<'a>> IntoIterator for Items<'a, T> {
    type Item = T;
    type IntoIter = ItemIter<'a, T>;

    fn into_iter(self) -> ItemIter<'a, T> {
        self.iter()
    }
}

impl<T> Clone for ItemIter<'_, T> {
    fn clone(&self) -> Self {
        ItemIter {
            r: self.r,
            left: self.left,
            _of: PhantomData,
        }
    }
}

pub struct ItemIter<'a, T> {
    r: Reader<'a>,
    left: u32,
    _of: PhantomData<T>,
}

impl<'a, T: Decode<'a>> Iterator for ItemIter<'a, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let item = T::decode(&mut self.r);
        if item.is_none() {
            self.left = 0;
        }
        item
    }
}
