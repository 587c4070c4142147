//! TAXII 2.1 (information sharing, 信息共享): each tier serves, read-only and to its accounts
//! (bearer token), two collections of its scope —
//!
//! - `bulletins`: every object of the bulletins reaching the account's scope, as their STIX
//!   export has them, each with its TLP marking; a TLP:RED bulletin is never served;
//! - `sightings`: per bulletin indicator, the tier's aggregated sightings — retro-hunt hits and
//!   the alerts its rules raised: count, first and last seen; no enterprise named — marked as
//!   their bulletin.
//!
//! Discovery at `/taxii2/`, one API root `/taxii2/api/`; objects and manifests page by
//! `limit` and `next`, filter by `added_after`, `match[id]`, `match[type]`; every answer is
//! `application/taxii+json;version=2.1`. Objects are never written here: bulletins are issued
//! through the bulletin API.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::extract::{act, Authed};
use super::{ApiError, App};
use crate::account::Account;
use crate::tier::bulletin::{hunt, stix};
use icsight_eve::Timestamp;

/// The media type of every TAXII 2.1 answer.
pub const TAXII: &str = "application/taxii+json;version=2.1";
const STIX: &str = "application/stix+json;version=2.1";
/// Objects in one answer unless `limit` says fewer, and the most it may ask.
const PAGE: usize = 100;
const PAGE_MAX: usize = 1000;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/taxii2/",
            get(discovery).route_layer(act("taxii.discovery")),
        )
        .route("/taxii2/api/", get(api_root).route_layer(act("taxii.root")))
        .route(
            "/taxii2/api/collections/",
            get(collections).route_layer(act("taxii.collections")),
        )
        .route(
            "/taxii2/api/collections/{cid}/",
            get(collection).route_layer(act("taxii.collection")),
        )
        .route(
            "/taxii2/api/collections/{cid}/objects/",
            get(objects).route_layer(act("taxii.objects")),
        )
        .route(
            "/taxii2/api/collections/{cid}/objects/{oid}/",
            get(object).route_layer(act("taxii.object")),
        )
        .route(
            "/taxii2/api/collections/{cid}/objects/{oid}/versions/",
            get(versions).route_layer(act("taxii.versions")),
        )
        .route(
            "/taxii2/api/collections/{cid}/manifest/",
            get(manifest).route_layer(act("taxii.manifest")),
        )
}

/// A TAXII answer: its body as `application/taxii+json;version=2.1`.
fn taxii(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII));
    r
}

/// TAXII asks clients to accept its media type; a client that says it accepts neither it nor
/// anything JSON is answered 406.
fn acceptable(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(a) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let ok = a.split(',').any(|m| {
        let m = m.trim().to_ascii_lowercase();
        m.starts_with("application/taxii+json")
            || m.starts_with("application/json")
            || m.starts_with("*/*")
            || m.starts_with("application/*")
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!("accept {TAXII}"),
        ))
    }
}

/// The collections, with name-based ids so they stay the same across restarts.
fn collection_ids(app: &App) -> [(String, &'static str, &'static str); 2] {
    let id = |name: &str| {
        stix::stix_id(
            "x",
            &format!("{}\ntaxii collection {name}", app.config.tier.id),
        )
        .trim_start_matches("x--")
        .to_owned()
    };
    [
        (
            id("bulletins"),
            "bulletins",
            "Threat bulletins reaching your scope, with their indicators, signatures and courses of action",
        ),
        (
            id("sightings"),
            "sightings",
            "This tier's sightings of the bulletins' indicators, aggregated",
        ),
    ]
}

fn collection_json(id: &str, title: &str, description: &str) -> Value {
    json!({
        "id": id,
        "title": title,
        "description": description,
        "can_read": true,
        "can_write": false,
        "media_types": [STIX],
    })
}

async fn discovery(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    headers: HeaderMap,
) -> Response {
    let r = acceptable(&headers).map(|()| {
        taxii(
            StatusCode::OK,
            json!({
                "title": format!("icsight {} ({})", app.config.tier.id, app.config.tier.role.name()),
                "description": "Threat bulletins and sightings of this tier, within your scope",
                "default": "/taxii2/api/",
                "api_roots": ["/taxii2/api/"],
            }),
        )
    });
    who.answer(&app, r)
}

async fn api_root(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    headers: HeaderMap,
) -> Response {
    let r = acceptable(&headers).map(|()| {
        taxii(
            StatusCode::OK,
            json!({
                "title": format!("icsight {}", app.config.tier.id),
                "versions": [TAXII],
                "max_content_length": app.config.server.max_body_kb * 1024,
            }),
        )
    });
    who.answer(&app, r)
}

async fn collections(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    headers: HeaderMap,
) -> Response {
    let r = acceptable(&headers).map(|()| {
        let list: Vec<Value> = collection_ids(&app)
            .iter()
            .map(|(id, t, d)| collection_json(id, t, d))
            .collect();
        taxii(StatusCode::OK, json!({ "collections": list }))
    });
    who.answer(&app, r)
}

/// Collection `cid`'s name, or 404.
fn which(app: &App, cid: &str) -> Result<&'static str, ApiError> {
    collection_ids(app)
        .iter()
        .find(|(id, _, _)| id == cid)
        .map(|(_, name, _)| *name)
        .ok_or_else(|| ApiError::not_found(format!("no collection {cid:?}")))
}

async fn collection(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    headers: HeaderMap,
    Path(cid): Path<String>,
) -> Response {
    let r = acceptable(&headers).and_then(|()| {
        let name = which(&app, &cid)?;
        let (id, t, d) = collection_ids(&app)
            .into_iter()
            .find(|(_, n, _)| *n == name)
            .expect("found above");
        Ok(taxii(StatusCode::OK, collection_json(&id, t, d)))
    });
    who.answer(&app, r)
}

/// An object with when it was added here (microseconds).
struct Held {
    object: Value,
    added: u64,
}

/// Every object of collection `name` in `who`'s scope, oldest added first; one version each.
async fn held(app: &App, who: &Account, name: &str) -> Result<Vec<Held>, ApiError> {
    let seen = |t: &crate::tier::bulletin::Target| {
        who.sees(&t.province, &t.enterprise_id) && who.sees_industry(&t.industry)
    };
    let shared: Vec<_> = (app.bulletins.book.all(seen).into_iter())
        .filter(|(b, _)| b.tlp != "red")
        .collect();
    let mut out: HashMap<String, Held> = HashMap::new();
    let mut keep = |object: Value, added: u64| {
        let id = object["id"].as_str().unwrap_or("").to_owned();
        match out.get(&id) {
            Some(h) if h.added >= added => {}
            _ => {
                out.insert(id, Held { object, added });
            }
        }
    };
    match name {
        "bulletins" => {
            for (b, _) in &shared {
                let bundle = stix::export(b);
                for o in bundle["objects"].as_array().into_iter().flatten() {
                    keep(o.clone(), b.version);
                }
            }
        }
        _ => {
            for (b, targets) in &shared {
                let hits = hunt::hits_of(&app.store, &b.bulletin_id, 100_000)
                    .await
                    .map_err(|e| app.storage_error(e))?;
                let mine =
                    |h: &hunt::Hit| targets.iter().any(|t| t.enterprise_id == h.enterprise_id);
                let mut by: HashMap<String, (u64, u32, u32, u32)> = HashMap::new();
                let mut add = |indicator: &str, n: u64, first: u32, last: u32, found: u32| {
                    let e = by
                        .entry(indicator.to_owned())
                        .or_insert((0, u32::MAX, 0, 0));
                    e.0 += n;
                    e.1 = e.1.min(first);
                    e.2 = e.2.max(last);
                    e.3 = e.3.max(found);
                };
                for h in hits.iter().filter(|h| mine(h)) {
                    add(&h.indicator, 1, h.ts, h.ts, h.found);
                }
                // And what the bulletin's own rules raised since the sensors loaded them: the
                // alerts of its sid block (the retro-hunt's own excepted), by address.
                let base = crate::tier::bulletin::sid_base(&b.bulletin_id);
                let enterprises: Vec<&str> =
                    targets.iter().map(|t| t.enterprise_id.as_str()).collect();
                let fired: Vec<(String, String, u64, u32, u32)> = app
                    .store
                    .client()
                    .query(
                        "SELECT src_ip, dest_ip, count(), toUInt32(min(ts)), toUInt32(max(ts)) \
                         FROM alerts WHERE sid >= ? AND sid < ? AND kind != 'retro' \
                         AND has(?, enterprise_id) GROUP BY src_ip, dest_ip",
                    )
                    .bind(base)
                    .bind(base + 99)
                    .bind(&enterprises)
                    .fetch_all()
                    .await
                    .map_err(|e| app.storage_error(e))?;
                let ips = b.indicators().ips;
                for (src, dest, n, first, last) in fired {
                    let matched =
                        hunt::indicator_of(&ips, &src).or_else(|| hunt::indicator_of(&ips, &dest));
                    if let Some(i) = matched {
                        add(&i, n, first, last, last);
                    }
                }
                let identity = stix::stix_id("identity", &app.config.tier.id);
                let marking = stix::tlp_marking(&b.tlp);
                for (indicator, (count, first, last, found)) in by {
                    let time = |s: u32| stix_time(u64::from(s));
                    let o = json!({
                        "type": "sighting",
                        "spec_version": "2.1",
                        "id": stix::stix_id("sighting", &format!("{}\n{}\n{indicator}", app.config.tier.id, b.bulletin_id)),
                        "created": time(found),
                        "modified": time(found),
                        "created_by_ref": identity,
                        "sighting_of_ref": stix::stix_id("indicator", &format!("{}\nip {indicator}", b.bulletin_id)),
                        "count": count.min(999_999_999),
                        "first_seen": time(first),
                        "last_seen": time(last),
                        "where_sighted_refs": [identity],
                        "object_marking_refs": [marking["id"]],
                        "x_icsight_bulletin_id": b.bulletin_id,
                    });
                    keep(o, u64::from(found) * 1_000_000);
                    keep(marking.clone(), b.version);
                }
                keep(
                    json!({
                        "type": "identity", "spec_version": "2.1", "id": identity,
                        "created": stix_time(0), "modified": stix_time(0),
                        "name": app.config.tier.id, "identity_class": "organization",
                    }),
                    0,
                );
            }
        }
    }
    let mut list: Vec<Held> = out.into_values().collect();
    list.sort_by(|a, b| {
        (a.added, a.object["id"].as_str()).cmp(&(b.added, b.object["id"].as_str()))
    });
    Ok(list)
}

/// A TAXII timestamp: UTC with microseconds.
fn stix_time(unix_s: u64) -> String {
    Timestamp(unix_s * 1_000_000).rfc3339()
}

fn added_time(us: u64) -> String {
    Timestamp(us).rfc3339()
}

/// The filters and paging of the objects and manifest endpoints.
#[derive(Debug, Default)]
struct Filter {
    added_after: Option<u64>,
    limit: usize,
    next: usize,
    ids: Vec<String>,
    types: Vec<String>,
}

fn filter(q: &HashMap<String, String>) -> Result<Filter, ApiError> {
    let mut f = Filter {
        limit: PAGE,
        ..Filter::default()
    };
    for (k, v) in q {
        match k.as_str() {
            "added_after" => {
                f.added_after =
                    Some(Timestamp::parse(v).map(|t| t.0).ok_or_else(|| {
                        ApiError::bad(format!("added_after: {v:?} is not a time"))
                    })?)
            }
            "limit" => {
                f.limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=PAGE_MAX).contains(n))
                    .ok_or_else(|| ApiError::bad(format!("limit: {v:?} is not 1-{PAGE_MAX}")))?
            }
            "next" => {
                f.next = v.parse().map_err(|_| {
                    ApiError::bad(format!("next: {v:?} is not one this server gave"))
                })?
            }
            "match[id]" => f.ids = v.split(',').map(str::to_owned).collect(),
            "match[type]" => f.types = v.split(',').map(str::to_owned).collect(),
            // Only the newest version of an object is kept; any spec_version asked is 2.1's.
            "match[version]" | "match[spec_version]" => {}
            other => {
                return Err(ApiError::bad(format!(
                    "{other}: not a parameter of this endpoint"
                )))
            }
        }
    }
    Ok(f)
}

/// The page of `list` that `f` selects, whether there is more, and the `next` to ask for it.
fn page<'a>(list: &'a [Held], f: &Filter) -> (Vec<&'a Held>, bool, Option<String>) {
    let matching: Vec<&Held> = list
        .iter()
        .filter(|h| f.added_after.is_none_or(|t| h.added > t))
        .filter(|h| f.ids.is_empty() || f.ids.iter().any(|i| h.object["id"] == i.as_str()))
        .filter(|h| f.types.is_empty() || f.types.iter().any(|t| h.object["type"] == t.as_str()))
        .collect();
    let from = f.next.min(matching.len());
    let to = (from + f.limit).min(matching.len());
    let more = to < matching.len();
    (
        matching[from..to].to_vec(),
        more,
        more.then(|| to.to_string()),
    )
}

/// The answer's date-added headers.
fn dated(mut r: Response, page: &[&Held]) -> Response {
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        for (name, t) in [
            ("x-taxii-date-added-first", first.added),
            ("x-taxii-date-added-last", last.added),
        ] {
            if let Ok(v) = HeaderValue::from_str(&added_time(t)) {
                r.headers_mut().insert(name, v);
            }
        }
    }
    r
}

/// The page of collection `cid` the query asks for, each object as `shape` makes it: the
/// objects endpoint's envelope and the manifest alike.
async fn paged(
    app: &App,
    who: &Account,
    headers: &HeaderMap,
    cid: &str,
    q: &HashMap<String, String>,
    shape: fn(&Held) -> Value,
) -> Result<Response, ApiError> {
    acceptable(headers)?;
    let name = which(app, cid)?;
    let f = filter(q)?;
    let list = held(app, who, name).await?;
    let (page, more, next) = page(&list, &f);
    let mut body = json!({
        "more": more,
        "objects": page.iter().map(|h| shape(h)).collect::<Vec<_>>(),
    });
    if let Some(n) = next {
        body["next"] = n.into();
    }
    Ok(dated(taxii(StatusCode::OK, body), &page))
}

async fn objects(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    headers: HeaderMap,
    Path(cid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let r = paged(&app, &who.who, &headers, &cid, &q, |h| h.object.clone()).await;
    who.answer(&app, r)
}

/// An object's manifest record.
fn manifest_record(h: &Held) -> Value {
    json!({
        "id": h.object["id"],
        "date_added": added_time(h.added),
        "version": version_of(&h.object),
        "media_type": STIX,
    })
}

/// An object's version: its `modified`, else its `created`.
fn version_of(o: &Value) -> Value {
    o.get("modified")
        .or(o.get("created"))
        .cloned()
        .unwrap_or(Value::Null)
}

async fn manifest(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    headers: HeaderMap,
    Path(cid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let r = paged(&app, &who.who, &headers, &cid, &q, manifest_record).await;
    who.answer(&app, r)
}

/// Object `oid` of collection `cid`, if the account may see it.
async fn one(app: &App, who: &Account, cid: &str, oid: &str) -> Result<Held, ApiError> {
    let name = which(app, cid)?;
    held(app, who, name)
        .await?
        .into_iter()
        .find(|h| h.object["id"] == oid)
        .ok_or_else(|| ApiError::not_found(format!("no object {oid:?} in the collection")))
}

async fn object(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    headers: HeaderMap,
    Path((cid, oid)): Path<(String, String)>,
) -> Response {
    let r = async {
        acceptable(&headers)?;
        let h = one(&app, &who.who, &cid, &oid).await?;
        let r = taxii(
            StatusCode::OK,
            json!({ "more": false, "objects": [h.object] }),
        );
        Ok(dated(r, &[&h]))
    }
    .await;
    who.answer(&app, r)
}

async fn versions(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    headers: HeaderMap,
    Path((cid, oid)): Path<(String, String)>,
) -> Response {
    let r = async {
        acceptable(&headers)?;
        let h = one(&app, &who.who, &cid, &oid).await?;
        Ok(taxii(
            StatusCode::OK,
            json!({ "more": false, "versions": [version_of(&h.object)] }),
        ))
    }
    .await;
    who.answer(&app, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: u64) -> Vec<Held> {
        (1..=n)
            .map(|i| Held {
                object: json!({"id": format!("indicator--{i}"), "type": if i % 2 == 0 { "indicator" } else { "report" }}),
                added: i * 1_000_000,
            })
            .collect()
    }

    #[test]
    fn pages_follow_next_and_filter_by_time_type_and_id() {
        let l = list(5);
        let f = Filter {
            limit: 2,
            ..Filter::default()
        };
        let (p, more, next) = page(&l, &f);
        assert_eq!((p.len(), more, next.as_deref()), (2, true, Some("2")));
        let f = Filter {
            limit: 2,
            next: 4,
            ..Filter::default()
        };
        let (p, more, next) = page(&l, &f);
        assert_eq!((p.len(), more, next), (1, false, None));
        let f = Filter {
            limit: 10,
            added_after: Some(3_000_000),
            ..Filter::default()
        };
        assert_eq!(page(&l, &f).0.len(), 2, "strictly after");
        let f = Filter {
            limit: 10,
            types: vec!["indicator".into()],
            ..Filter::default()
        };
        assert_eq!(page(&l, &f).0.len(), 2);
        let f = Filter {
            limit: 10,
            ids: vec!["indicator--3".into()],
            ..Filter::default()
        };
        assert_eq!(page(&l, &f).0.len(), 1);
        let q: HashMap<String, String> = [("limit".to_owned(), "0".to_owned())].into();
        assert!(filter(&q).is_err());
        let q: HashMap<String, String> =
            [("added_after".to_owned(), "yesterday".to_owned())].into();
        assert!(filter(&q).is_err());
    }
}
