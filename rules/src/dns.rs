//! The DNS keywords: name buffers (`dns.query` as Emerging Threats writes it, and Suricata
//! 8's `dns.queries.rrname`, `dns.answers.rrname`, `dns.response.rrname`) and the header and
//! type fields `dns.opcode`, `dns.rcode`, `dns.rrtype`.
//!
//! A message has several names, so a name buffer is inspected once per name: the options on
//! it match when they all match one of them, as Suricata's multi-buffers do.

use decoders::dns::{Message, Section};

use crate::num::UintMatch;
use crate::KeywordError;

/// A name buffer of a DNS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buf {
    /// The question names of a query (`dns.query`, `dns_query`).
    Query,
    /// The question names of a query or a response (`dns.queries.rrname`).
    QueriesRrname,
    /// The owner names of the answers, in a query as in a response (`dns.answers.rrname`,
    /// `dns.answer.name`): a query may carry answers too, and Suricata 8 inspects them there.
    AnswersRrname,
    /// Every name of a response: questions, record owners, and names inside record data
    /// (`dns.response.rrname`).
    ResponseRrname,
}

impl Buf {
    /// Every name buffer; `as usize` is the place in this list.
    pub const ALL: [Buf; 4] = [
        Buf::Query,
        Buf::QueriesRrname,
        Buf::AnswersRrname,
        Buf::ResponseRrname,
    ];

    pub fn sticky(name: &str) -> Option<Self> {
        Some(match name {
            "dns.query" | "dns_query" => Buf::Query,
            "dns.queries.rrname" => Buf::QueriesRrname,
            "dns.answers.rrname" | "dns.answer.name" => Buf::AnswersRrname,
            "dns.response.rrname" => Buf::ResponseRrname,
            _ => return None,
        })
    }

    /// Each name of this buffer in `m`, dotted, into `names` (cleared first; the inner
    /// vectors are reused).
    pub fn names(self, m: &Message<'_>, names: &mut Vec<Vec<u8>>) {
        let mut n = 0;
        let mut push = |name: decoders::dns::Name<'_>, names: &mut Vec<Vec<u8>>| {
            if names.len() == n {
                names.push(Vec::new());
            }
            name.write_dotted(&mut names[n]);
            n += 1;
        };
        let response = m.is_response();
        match self {
            Buf::Query if response => {}
            Buf::Query | Buf::QueriesRrname => {
                for q in m.questions() {
                    push(q.name, names);
                }
            }
            Buf::AnswersRrname => {
                for r in m.records(Section::Answer) {
                    push(r.name, names);
                }
            }
            Buf::ResponseRrname if !response => {}
            Buf::ResponseRrname => {
                for q in m.questions() {
                    push(q.name, names);
                }
                for s in [Section::Answer, Section::Authority, Section::Additional] {
                    for r in m.records(s) {
                        push(r.name, names);
                        if let Some(name) = r.data_name() {
                            push(name, names);
                        }
                    }
                }
            }
        }
        names.truncate(n);
    }
}

/// A DNS field keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Opcode(UintMatch),
    Rcode(UintMatch),
    /// The type of any question.
    Rrtype(UintMatch),
}

impl Field {
    pub const KEYWORDS: [&'static str; 3] = ["dns.opcode", "dns.rcode", "dns.rrtype"];

    pub fn parse(keyword: &str, value: &str) -> Result<Self, KeywordError> {
        let m = UintMatch::parse(value)?;
        Ok(match keyword {
            "dns.opcode" => Field::Opcode(m),
            "dns.rcode" => Field::Rcode(m),
            _ => Field::Rrtype(m),
        })
    }

    pub fn matches(&self, m: &Message<'_>) -> bool {
        match self {
            Field::Opcode(u) => u.matches(u64::from(m.opcode())),
            Field::Rcode(u) => m.is_response() && u.matches(u64::from(m.rcode())),
            Field::Rrtype(u) => m.questions().any(|q| u.matches(u64::from(q.rrtype))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for oisf.net A that carries an answer of its own, as crafted queries may.
    fn query_with_answer() -> Vec<u8> {
        let mut m = vec![0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x04oisf\x03net\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 10, 10, 10]);
        m
    }

    #[test]
    fn answer_names_of_a_query() {
        let q = query_with_answer();
        let m = Message::parse(&q).unwrap();
        assert!(!m.is_response());
        let mut names = Vec::new();
        Buf::AnswersRrname.names(&m, &mut names);
        assert_eq!(names, [b"oisf.net".to_vec()]);
        // Names of a response stay a response's.
        Buf::ResponseRrname.names(&m, &mut names);
        assert!(names.is_empty());
    }
}
