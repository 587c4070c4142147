use core::fmt;

use crate::app::AnomalyName;

/// Why bytes at the front of an HTTP direction cannot be framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The start line or a header field breaks the grammar (`httparse`'s reason).
    Head(HeadError),
    /// No blank line within [`super::MAX_HEAD`] bytes.
    HeadTooLong,
    /// More header fields than the parser reads.
    TooManyFields,
    /// A chunk-size line that is not a hexadecimal size.
    ChunkSize,
    /// A chunk-size line longer than any real one.
    ChunkLine,
    /// A chunk's data not followed by its line end.
    ChunkFraming,
}

/// Which part of a head `httparse` refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeadError {
    Method,
    Version,
    Status,
    Field,
    LineEnd,
}

impl From<httparse::Error> for Error {
    fn from(e: httparse::Error) -> Self {
        use httparse::Error as H;
        match e {
            H::TooManyHeaders => Error::TooManyFields,
            H::Token => Error::Head(HeadError::Method),
            H::Version => Error::Head(HeadError::Version),
            H::Status => Error::Head(HeadError::Status),
            H::HeaderName | H::HeaderValue => Error::Head(HeadError::Field),
            H::NewLine => Error::Head(HeadError::LineEnd),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Head(h) => write!(
                f,
                "malformed HTTP head: bad {}",
                match h {
                    HeadError::Method => "method token",
                    HeadError::Version => "version",
                    HeadError::Status => "status code",
                    HeadError::Field => "header field",
                    HeadError::LineEnd => "line end",
                }
            ),
            Error::HeadTooLong => write!(f, "HTTP head longer than {} bytes", super::MAX_HEAD),
            Error::TooManyFields => write!(f, "more than {} header fields", super::MAX_FIELDS),
            Error::ChunkSize => f.write_str("chunk size is not hexadecimal"),
            Error::ChunkLine => f.write_str("chunk-size line too long"),
            Error::ChunkFraming => f.write_str("chunk data not followed by a line end"),
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::Head(HeadError::Method) => "http.invalid_method",
            Error::Head(HeadError::Version) => "http.invalid_version",
            Error::Head(HeadError::Status) => "http.invalid_status",
            Error::Head(HeadError::Field) => "http.invalid_header",
            Error::Head(HeadError::LineEnd) => "http.invalid_line_end",
            Error::HeadTooLong => "http.head_too_long",
            Error::TooManyFields => "http.too_many_headers",
            Error::ChunkSize => "http.invalid_chunk_size",
            Error::ChunkLine => "http.chunk_line_too_long",
            Error::ChunkFraming => "http.invalid_chunk_framing",
        }
    }
}
