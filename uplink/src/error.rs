//! What stops an uplink from starting: a key's value, or a file a key names.

use std::path::{Path, PathBuf};

/// A configuration or file problem found by [`UplinkConfig::validate`] or [`Uplink::start`];
/// each names its key as `{table}.{key}`, `table` being the configuration table the caller
/// named (`uplink`, `upstream`).
///
/// [`UplinkConfig::validate`]: crate::UplinkConfig::validate
/// [`Uplink::start`]: crate::Uplink::start
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UplinkError {
    #[error("{table}.{key}: {path}: {message}")]
    File {
        table: String,
        key: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("{table}.{key}: {message}")]
    Key {
        table: String,
        key: &'static str,
        message: String,
    },
}

impl UplinkError {
    /// A file named by `{table}.{key}` cannot be used.
    pub fn file(table: &str, key: &'static str, path: &Path, message: impl Into<String>) -> Self {
        UplinkError::File {
            table: table.to_owned(),
            key,
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// The value of `{table}.{key}` is wrong.
    pub fn invalid(table: &str, key: &'static str, message: impl Into<String>) -> Self {
        UplinkError::Key {
            table: table.to_owned(),
            key,
            message: message.into(),
        }
    }

    /// The key at fault, within its table (`token_file`).
    pub fn key(&self) -> &'static str {
        match self {
            UplinkError::File { key, .. } | UplinkError::Key { key, .. } => key,
        }
    }

    /// The key at fault with its table (`uplink.token_file`).
    pub fn full_key(&self) -> String {
        match self {
            UplinkError::File { table, key, .. } | UplinkError::Key { table, key, .. } => {
                format!("{table}.{key}")
            }
        }
    }

    /// What is wrong, without the key: the file and the reason.
    pub fn detail(&self) -> String {
        match self {
            UplinkError::File { path, message, .. } => format!("{}: {message}", path.display()),
            UplinkError::Key { message, .. } => message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_key_and_detail() {
        let e = UplinkError::file("upstream", "ca", Path::new("/etc/ca.pem"), "cannot read");
        assert_eq!(e.to_string(), "upstream.ca: /etc/ca.pem: cannot read");
        assert_eq!(
            (e.key(), e.full_key().as_str(), e.detail().as_str()),
            ("ca", "upstream.ca", "/etc/ca.pem: cannot read")
        );
        let e = UplinkError::invalid("uplink", "url", "names no host");
        assert_eq!(e.to_string(), "uplink.url: names no host");
        assert_eq!(e.detail(), "names no host");
    }
}
