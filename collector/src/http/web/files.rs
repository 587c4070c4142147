//! The files the pages load: the style sheet, the script that draws the charts, Apache
//! ECharts and the national map (`dashboards/static/`, compiled in). They are the same for
//! everyone, so they are served without a session, compressed once, and cached by the
//! browser under an entity tag of their content.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One file: its bytes, their gzip and their tag.
struct Asset {
    name: &'static str,
    kind: &'static str,
    raw: &'static [u8],
    gzip: Vec<u8>,
    etag: String,
}

macro_rules! asset {
    ($name:literal, $kind:literal) => {
        (
            $name,
            $kind,
            include_bytes!(concat!("../../../../dashboards/static/", $name)) as &[u8],
        )
    };
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        asset!("app.css", "text/css; charset=utf-8"),
        asset!("app.js", "text/javascript; charset=utf-8"),
        asset!("echarts.min.js", "text/javascript; charset=utf-8"),
        asset!("china.json", "application/json"),
    ]
    .into_iter()
    .map(|(name, kind, raw)| {
        use std::io::Write;
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gzip = z
            .write_all(raw)
            .and_then(|()| z.finish())
            .unwrap_or_default();
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(raw)[..12]));
        Asset {
            name,
            kind,
            raw,
            gzip,
            etag,
        }
    })
    .collect()
});

/// The path a page links an asset by: its name with its tag, so a new build is fetched anew.
pub fn url(name: &str) -> String {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => format!("/static/{name}?v={}", a.etag.trim_matches('"')),
        None => format!("/static/{name}"),
    }
}

/// An asset's bytes, for a page printed outside the browser.
pub fn bytes(name: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|a| a.name == name).map(|a| a.raw)
}

/// `GET /static/{name}`
pub(super) async fn get(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(a) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = HeaderValue::from_static("public, max-age=86400");
    let etag = HeaderValue::from_str(&a.etag).unwrap_or(HeaderValue::from_static("\"\""));
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == a.etag.as_bytes())
    {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    let gzip = !a.gzip.is_empty()
        && headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|e| e.trim().split(';').next() == Some("gzip"));
    let mut r = if gzip {
        let mut r = a.gzip.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        a.raw.into_response()
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.kind));
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, cache);
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_compiled_in_and_compressed() {
        for a in ASSETS.iter() {
            assert!(!a.raw.is_empty() && !a.gzip.is_empty(), "{}", a.name);
            assert!(a.gzip.len() < a.raw.len(), "{}", a.name);
        }
        assert!(url("app.js").starts_with("/static/app.js?v="));
    }

    #[test]
    fn the_map_holds_every_province_by_its_code() {
        let a = ASSETS.iter().find(|a| a.name == "china.json").expect("map");
        let v: serde_json::Value = serde_json::from_slice(a.raw).expect("GeoJSON");
        let codes: Vec<&str> = v["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter_map(|f| f["properties"]["code"].as_str())
            .collect();
        for p in crate::codes::PROVINCES {
            assert!(codes.contains(&p), "{p} not on the map");
        }
    }

    #[test]
    fn echarts_is_the_version_the_lock_names() {
        let lock: serde_json::Value =
            serde_json::from_str(include_str!("../../../../dashboards/package-lock.json"))
                .expect("package-lock.json");
        let v = lock["packages"]["node_modules/echarts"]["version"]
            .as_str()
            .expect("echarts in the lock");
        let a = ASSETS
            .iter()
            .find(|a| a.name == "echarts.min.js")
            .expect("echarts");
        let text = String::from_utf8_lossy(a.raw);
        assert!(
            text.contains(&format!("version=\"{v}\"")),
            "echarts.min.js is not {v}"
        );
    }
}
