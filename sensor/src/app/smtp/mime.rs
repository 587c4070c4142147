//! A whole message read as MIME with `mail-parser`: the headers Suricata logs (`From`, `To`,
//! `Cc`, `Subject`) as written, and each attachment (a part with a file name) with its
//! content decoded — what `file_data` inspects.

use decoders::smtp::{Attachment, Email};
use mail_parser::{MessageParser, MimeHeaders};

/// The most attachments kept per message.
pub const MAX_ATTACHMENTS: usize = 64;

/// A header's raw value, folding and surrounding space removed.
fn raw(v: &str) -> Vec<u8> {
    v.replace("\r\n", "")
        .replace('\n', "")
        .trim()
        .as_bytes()
        .to_vec()
}

/// Read `message` into `email`; `false` if it is not a message at all.
pub fn read(message: &[u8], email: &mut Email, content_limit: usize) -> bool {
    let Some(m) = MessageParser::default().parse(message) else {
        return false;
    };
    email.parsed = true;
    if let Some(v) = m.header_raw("From") {
        email.from = raw(v);
    }
    let list = |v: Option<&str>| -> Vec<Vec<u8>> {
        v.map(|v| raw(v).split(|&b| b == b',').map(<[u8]>::to_vec).collect())
            .unwrap_or_default()
    };
    email.to = list(m.header_raw("To"));
    email.cc = list(m.header_raw("Cc"));
    if let Some(s) = m.subject() {
        email.subject = s.as_bytes().to_vec();
    }
    for part in m.attachments().take(MAX_ATTACHMENTS) {
        let Some(name) = part.attachment_name() else {
            continue;
        };
        let content = part.contents();
        email.attachments.push(Attachment {
            name: name.as_bytes().to_vec(),
            content: content[..content.len().min(content_limit)].to_vec(),
        });
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_a_quoted_printable_attachment() {
        let msg = b"From: \"Ops\" <ops@plant.example>\r\n\
To: <a@plant.example>, b@plant.example\r\n\
Subject: line 1 backup\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\
\r\n\
--XX\r\n\
Content-Type: text/plain\r\n\
\r\n\
see attached\r\n\
--XX\r\n\
Content-Type: text/plain; name=\"NEWS.txt\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
Content-Disposition: attachment; filename=\"NEWS.txt\"\r\n\
\r\n\
Version 4.9=\r\n\
.9.0 =3D new\r\n\
--XX--\r\n";
        let mut e = Email::default();
        assert!(read(msg, &mut e, 1 << 20));
        assert_eq!(e.from, b"\"Ops\" <ops@plant.example>");
        assert_eq!(e.to, [&b"<a@plant.example>"[..], b" b@plant.example"]);
        assert_eq!(e.subject, b"line 1 backup");
        assert_eq!(e.attachments.len(), 1);
        assert_eq!(e.attachments[0].name, b"NEWS.txt");
        assert!(e.attachments[0]
            .content
            .starts_with(b"Version 4.9.9.0 = new"));
        // The content limit holds.
        let mut e = Email::default();
        read(msg, &mut e, 4);
        assert_eq!(e.attachments[0].content, b"Vers");
    }
}
