//! The SMTP keywords: the sticky buffers `smtp.helo` (the connection's greeting name),
//! `smtp.mail_from` and `smtp.rcpt_to` (each recipient in turn), and `file_data` in an SMTP
//! rule: each attachment of the message, decoded, and `file.name`: each attachment's name.
//!
//! A rule is inspected once the envelope is sent if it reads only the envelope, else once the
//! message is whole.

use decoders::smtp::{Progress, Transaction};

/// A buffer of an SMTP transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buf {
    Helo,
    MailFrom,
    /// Each recipient.
    RcptTo,
    /// Each attachment's decoded content (`file_data` in an `smtp` rule).
    FileData,
    /// Each attachment's name (`file.name` in an `smtp` rule).
    FileName,
}

impl Buf {
    pub fn sticky(name: &str) -> Option<Self> {
        Some(match name {
            "smtp.helo" => Buf::Helo,
            "smtp.mail_from" => Buf::MailFrom,
            "smtp.rcpt_to" => Buf::RcptTo,
            _ => return None,
        })
    }

    /// When the buffer is there to inspect.
    pub fn ready_at(self) -> Progress {
        match self {
            Buf::FileData | Buf::FileName => Progress::Message,
            _ => Progress::Envelope,
        }
    }

    /// Each instance of the buffer, in turn.
    pub fn instances<'t>(
        self,
        helo: &'t [u8],
        tx: &'t Transaction,
    ) -> impl Iterator<Item = &'t [u8]> {
        let single: Option<&[u8]> = match self {
            Buf::Helo if !helo.is_empty() => Some(helo),
            Buf::MailFrom if !tx.mail_from.is_empty() => Some(&tx.mail_from),
            _ => None,
        };
        let rcpt: &[Vec<u8>] = if self == Buf::RcptTo {
            &tx.rcpt_to
        } else {
            &[]
        };
        let files: &[decoders::smtp::Attachment] = match self {
            Buf::FileData | Buf::FileName => &tx.email.attachments,
            _ => &[],
        };
        let name = self == Buf::FileName;
        single
            .into_iter()
            .chain(rcpt.iter().map(Vec::as_slice))
            .chain(files.iter().map(move |a| {
                if name {
                    a.name.as_slice()
                } else {
                    a.content.as_slice()
                }
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use decoders::smtp::Attachment;

    #[test]
    fn buffers_and_their_instances() {
        let mut tx = Transaction {
            mail_from: b"<a@plant>".to_vec(),
            ..Transaction::default()
        };
        tx.rcpt(b"TO:<b@plant>");
        tx.rcpt(b"TO:<c@plant>");
        tx.email.attachments.push(Attachment {
            name: b"x.ap17".to_vec(),
            content: b"PROJECT".to_vec(),
        });
        let all = |b: Buf| b.instances(b"ws1", &tx).collect::<Vec<_>>();
        assert_eq!(all(Buf::Helo), [b"ws1"]);
        assert_eq!(all(Buf::MailFrom), [b"<a@plant>"]);
        assert_eq!(all(Buf::RcptTo), [&b"<b@plant>"[..], b"<c@plant>"]);
        assert_eq!(all(Buf::FileData), [b"PROJECT"]);
        assert_eq!(all(Buf::FileName), [b"x.ap17"]);
        assert_eq!(Buf::Helo.instances(b"", &tx).count(), 0);
        assert_eq!(Buf::sticky("smtp.rcpt_to"), Some(Buf::RcptTo));
        assert_eq!(Buf::FileData.ready_at(), Progress::Message);
    }
}
