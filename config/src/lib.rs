//! How the sensor and the collector read their TOML files, so that both answer a bad file the
//! same way: the file, the key (`uplink.url`, `sensor.enterprise_id`), what is wrong, and the
//! line where the parser can tell it. A program's own checks after parsing report through the
//! same [`ConfigError::Key`].

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: key `{key}`: {message}")]
    Key {
        path: PathBuf,
        key: String,
        message: String,
    },
}

impl ConfigError {
    /// A refusal of `key` in the file at `path`, for checks made after parsing.
    pub fn key(path: &Path, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Key {
            path: path.to_owned(),
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Parse `text`, the contents of `path`, into `T`; an error names the key and, where the
/// parser knows it, the line.
pub fn parse<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let line = inner
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                format!(" (line {line})")
            })
            .unwrap_or_default();
        ConfigError::key(
            path,
            if key == "." {
                "(top level)".into()
            } else {
                key
            },
            format!("{}{line}", inner.message()),
        )
    })
}

/// Read the file at `path`.
pub fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        server: Server,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Server {
        listen: String,
        #[serde(default)]
        workers: u16,
    }

    #[test]
    fn errors_name_file_key_and_line() {
        let p = Path::new("c.toml");
        let e = parse::<File>("[server]\nlisten = \"x\"\nworkers = -1\n", p).unwrap_err();
        let m = e.to_string();
        assert!(m.starts_with("c.toml: key `server.workers`: "), "{m}");
        assert!(m.ends_with("(line 3)"), "{m}");
        let e = parse::<File>("[server]\nlisten = \"x\"\nthreads = 2\n", p).unwrap_err();
        assert!(e.to_string().contains("unknown field `threads`"), "{e}");
        let e = parse::<File>("", p).unwrap_err();
        assert!(e.to_string().contains("key `(top level)`"), "{e}");
        let f: File = parse("[server]\nlisten = \"x\"\n", p).unwrap();
        assert_eq!(f.server.listen, "x");
        let e = read(Path::new("/nonexistent/c.toml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/c.toml: cannot read"),
            "{e}"
        );
    }
}
