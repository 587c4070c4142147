//! `tag`: Suricata's request to record the packets that follow an alert, on its session or its
//! host — `tag:session|host, COUNT, packets|seconds|bytes[, src|dst]`. A passive sensor records
//! no packets; it writes the request as a note on the alert (`alert.tag`), in its canonical
//! form, so an analyst knows the rule asked for them.

use crate::KeywordError;

/// A parsed `tag`, kept in its canonical written form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(pub String);

impl Tag {
    pub fn parse(value: &str) -> Result<Self, KeywordError> {
        let form = || KeywordError::Form {
            keyword: "tag",
            form: "session|host, COUNT, packets|seconds|bytes[, src|dst]",
        };
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        let (scope, count, metric, dir) = match parts.as_slice() {
            [s, c, m] => (*s, *c, *m, None),
            [s, c, m, d] => (*s, *c, *m, Some(*d)),
            // Suricata's shorthand: `tag:session` is the session's next 256 packets.
            [s] => (*s, "256", "packets", None),
            _ => return Err(form()),
        };
        if !["session", "host"].contains(&scope)
            || !["packets", "seconds", "bytes"].contains(&metric)
            || count.parse::<u32>().ok().filter(|c| *c > 0).is_none()
        {
            return Err(form());
        }
        let mut text = format!("{scope},{count},{metric}");
        match (scope, dir) {
            ("host", Some(d @ ("src" | "dst"))) => text.push_str(&format!(",{d}")),
            (_, None) => {}
            _ => return Err(form()),
        }
        Ok(Tag(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            Tag::parse(" session, 20, packets").unwrap().0,
            "session,20,packets"
        );
        assert_eq!(
            Tag::parse("host,600,seconds,src").unwrap().0,
            "host,600,seconds,src"
        );
        assert_eq!(Tag::parse("session").unwrap().0, "session,256,packets");
        for bad in [
            "flow,1,packets",
            "session,0,packets",
            "session,5,frames",
            "session,5,packets,src",
        ] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
    }
}
