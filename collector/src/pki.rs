//! A small certificate authority for a collector and its clients: `collector pki init` makes the
//! CA, the collector's server certificate and an empty revocation list; `collector pki sensor
//! ID` a client certificate whose common name is the id — the name the collector binds it by —
//! and, run again, its renewal; `collector pki revoke` puts certificates on the revocation list
//! the collector checks on every handshake (`server.crl`, re-read when it changes).
//!
//! Certificates live a year by default, not decades: a key copied off a plant's sensor stops
//! working by itself. Every certificate issued is listed in `issued.tsv` (serial, name, expiry,
//! issue time) and every revocation in `revoked.tsv`, so `crl.pem` can be signed again from
//! them at any time and `collector pki list` can tell what is valid.

use std::path::Path;

use anyhow::{bail, Context};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use time::{Duration, OffsetDateTime};

/// How long a certificate issued here lives unless told otherwise, in days.
pub const DEFAULT_DAYS: u32 = 365;
/// The longest life `--days` may ask for: renewal is the way to go on.
pub const MAX_DAYS: u32 = 825;
/// How long the CA itself lives, in years; its certificate is what every client trusts.
const CA_YEARS: i64 = 20;

const ISSUED: &str = "issued.tsv";
const REVOKED: &str = "revoked.tsv";
const CRL: &str = "crl.pem";

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// Writes `text` to `path` through a temporary file and a rename, so a collector re-reading
/// it never sees half of it.
fn write_public(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}

fn append(path: &Path, line: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    writeln!(f, "{line}").with_context(|| format!("{}: cannot write", path.display()))
}

fn named(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "icsight");
    dn.push(DnType::CommonName, cn);
    dn
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// A fresh serial number: 16 random bytes, positive.
fn serial() -> anyhow::Result<Vec<u8>> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).context("no randomness for a serial number")?;
    b[0] = (b[0] & 0x7f) | 0x01;
    Ok(b.to_vec())
}

fn check_days(days: u32) -> anyhow::Result<()> {
    if days == 0 || days > MAX_DAYS {
        bail!("--days {days}: between 1 and {MAX_DAYS}; renew rather than issue for longer");
    }
    Ok(())
}

/// Make `dir/ca.pem`, `dir/ca.key`, `dir/server.pem`, `dir/server.key` and an empty
/// `dir/crl.pem`; the server certificate names `hosts` (DNS names or IP addresses) and lives
/// `days`.
pub fn init(dir: &Path, hosts: &[String], days: u32) -> anyhow::Result<()> {
    check_days(days)?;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    if dir.join("ca.key").exists() {
        bail!("{}: a CA is already there", dir.join("ca.key").display());
    }
    let ca_key = KeyPair::generate().context("generating the CA key")?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
    ca.distinguished_name = named("icsight collector CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    ca.not_before = now - Duration::hours(1);
    ca.not_after = now + Duration::days(365 * CA_YEARS);
    ca.serial_number = Some(SerialNumber::from_slice(&serial()?));
    let ca_cert = ca.self_signed(&ca_key).context("signing the CA")?;
    write_public(&dir.join("ca.pem"), &ca_cert.pem())?;
    write_private(&dir.join("ca.key"), &ca_key.serialize_pem())?;
    server(dir, hosts, days)?;
    sign_crl(dir)?;
    Ok(())
}

/// (Re)issue the collector's server certificate for `hosts`; a collector serving it picks the
/// new one up by itself.
pub fn server(dir: &Path, hosts: &[String], days: u32) -> anyhow::Result<Issued> {
    check_days(days)?;
    let issued = issue(
        dir,
        "icsight collector",
        hosts,
        ExtendedKeyUsagePurpose::ServerAuth,
        days,
    )?;
    write_private(&dir.join("server.key"), &issued.key_pem)?;
    write_public(&dir.join("server.pem"), &issued.cert_pem)?;
    Ok(issued)
}

/// Make (or renew) `dir/sensors/ID.pem` and `ID.key`, signed by the CA in `dir`, living
/// `days`. A renewal leaves the certificate it replaces valid until it expires or is revoked,
/// so the sensor keeps sending while the new pair is put in place.
pub fn sensor(dir: &Path, id: &str, days: u32) -> anyhow::Result<Issued> {
    check_days(days)?;
    if id.is_empty() || id.contains(['/', '\\', '\0']) || id.starts_with('.') {
        bail!("{id:?}: not usable as a sensor id and file name");
    }
    let out = dir.join("sensors");
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    let issued = issue(dir, id, &[], ExtendedKeyUsagePurpose::ClientAuth, days)?;
    write_private(&out.join(format!("{id}.key")), &issued.key_pem)?;
    write_public(&out.join(format!("{id}.pem")), &issued.cert_pem)?;
    Ok(issued)
}

/// A certificate just issued.
pub struct Issued {
    pub serial: String,
    pub not_after: OffsetDateTime,
    cert_pem: String,
    key_pem: String,
}

/// The CA in `dir`: its certificate (for signing) and key.
fn ca(dir: &Path) -> anyhow::Result<(rcgen::Certificate, KeyPair)> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))
    };
    let ca_key = KeyPair::from_pem(&read("ca.key")?).context("ca.key: not a key")?;
    let ca = CertificateParams::from_ca_cert_pem(&read("ca.pem")?)
        .context("ca.pem: not a CA certificate")?
        .self_signed(&ca_key)
        .context("ca.pem and ca.key do not match")?;
    Ok((ca, ca_key))
}

/// A certificate for `cn`, signed by the CA in `dir` and entered in its `issued.tsv`.
fn issue(
    dir: &Path,
    cn: &str,
    hosts: &[String],
    usage: ExtendedKeyUsagePurpose,
    days: u32,
) -> anyhow::Result<Issued> {
    let (ca, ca_key) = ca(dir)?;
    let key = KeyPair::generate().context("generating a key")?;
    let mut params = CertificateParams::new(hosts.to_vec()).context("certificate names")?;
    params.distinguished_name = named(cn);
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
    // An hour back: a client whose clock is a little behind still accepts it.
    params.not_before = now - Duration::hours(1);
    let not_after = now + Duration::days(i64::from(days));
    params.not_after = not_after;
    let serial = serial()?;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .context("signing the certificate")?;
    let serial = hex::encode(serial);
    append(
        &dir.join(ISSUED),
        &format!("{serial}\t{cn}\t{}\t{}", rfc3339(not_after), rfc3339(now)),
    )?;
    Ok(Issued {
        serial,
        not_after,
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// One line of `issued.tsv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub serial: String,
    pub name: String,
    pub not_after: OffsetDateTime,
    pub revoked: Option<OffsetDateTime>,
}

/// What the CA in `dir` has issued, oldest first, each with its revocation if any.
pub fn list(dir: &Path) -> anyhow::Result<Vec<Entry>> {
    let revoked = revocations(dir)?;
    let path = dir.join(ISSUED);
    let mut out = Vec::new();
    for (n, f) in rows(&path)? {
        let (Some(serial), Some(name), Some(not_after)) =
            (f.first(), f.get(1), f.get(2).and_then(|t| parse_time(t)))
        else {
            bail!("{}:{n}: not serial, name, expiry, issued", path.display());
        };
        out.push(Entry {
            serial: serial.clone(),
            name: name.clone(),
            not_after,
            revoked: revoked.iter().find(|r| r.0 == *serial).map(|r| r.1),
        });
    }
    Ok(out)
}

/// The rows of a tab-separated index, numbered from 1; none while it does not exist.
fn rows(path: &Path) -> anyhow::Result<Vec<(usize, Vec<String>)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    Ok((text.lines().enumerate())
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| (n + 1, l.split('\t').map(str::to_owned).collect()))
        .collect())
}

/// `revoked.tsv`: (serial, when, reason).
fn revocations(dir: &Path) -> anyhow::Result<Vec<(String, OffsetDateTime, String)>> {
    let path = dir.join(REVOKED);
    let mut out = Vec::new();
    for (n, f) in rows(&path)? {
        let (Some(serial), Some(when)) = (f.first(), f.get(1).and_then(|t| parse_time(t))) else {
            bail!("{}:{n}: not serial, time, reason", path.display());
        };
        let reason = f.get(2).map_or("unspecified", String::as_str).to_owned();
        out.push((serial.clone(), when, reason));
    }
    Ok(out)
}

/// Why a certificate is revoked, as RFC 5280 names it.
fn reason(name: &str) -> anyhow::Result<RevocationReason> {
    Ok(match name {
        "unspecified" => RevocationReason::Unspecified,
        "key-compromise" => RevocationReason::KeyCompromise,
        "superseded" => RevocationReason::Superseded,
        "cessation-of-operation" => RevocationReason::CessationOfOperation,
        "affiliation-changed" => RevocationReason::AffiliationChanged,
        other => bail!(
            "--reason {other:?}: one of unspecified, key-compromise, superseded, \
             cessation-of-operation, affiliation-changed"
        ),
    })
}

/// What `collector pki revoke` names: a serial (hex), a certificate file, or a name whose
/// every certificate still valid is revoked.
fn targets(dir: &Path, what: &str) -> anyhow::Result<Vec<String>> {
    let issued = list(dir)?;
    let path = Path::new(what);
    if what.ends_with(".pem") && path.is_file() {
        let pem = std::fs::read(path).with_context(|| format!("{what}: cannot read"))?;
        let der = rustls_pemfile::certs(&mut &pem[..])
            .next()
            .with_context(|| format!("{what}: no certificate in it"))?
            .with_context(|| format!("{what}: not a PEM certificate"))?;
        let (_, c) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| anyhow::anyhow!("{what}: not a certificate: {e}"))?;
        return Ok(vec![hex::encode(c.raw_serial())]);
    }
    let serial = what.to_ascii_lowercase();
    if issued.iter().any(|e| e.serial == serial) {
        return Ok(vec![serial]);
    }
    let now = OffsetDateTime::now_utc();
    let of_name: Vec<String> = (issued.iter())
        .filter(|e| e.name == what && e.revoked.is_none() && e.not_after > now)
        .map(|e| e.serial.clone())
        .collect();
    if of_name.is_empty() {
        bail!(
            "{what}: no certificate still valid has this serial or name (see `collector pki list`)"
        );
    }
    Ok(of_name)
}

/// Revoke what `what` names (see [`targets`]) and sign the revocation list again; returns the
/// serials newly revoked.
pub fn revoke(dir: &Path, what: &str, why: &str) -> anyhow::Result<Vec<String>> {
    reason(why)?;
    let already = revocations(dir)?;
    let now = rfc3339(OffsetDateTime::now_utc());
    let mut newly = Vec::new();
    for serial in targets(dir, what)? {
        if already.iter().any(|r| r.0 == serial) {
            continue;
        }
        append(&dir.join(REVOKED), &format!("{serial}\t{now}\t{why}"))?;
        newly.push(serial);
    }
    sign_crl(dir)?;
    Ok(newly)
}

/// Sign `crl.pem` again from `revoked.tsv`: after a revocation, and before the list's
/// next-update time (a year) if nothing was revoked meanwhile.
pub fn sign_crl(dir: &Path) -> anyhow::Result<usize> {
    let (ca, ca_key) = ca(dir)?;
    let now = OffsetDateTime::now_utc();
    let mut revoked_certs = Vec::new();
    for (serial, when, why) in revocations(dir)? {
        let bytes = hex::decode(&serial).with_context(|| {
            format!(
                "{}: serial {serial:?} is not hex",
                dir.join(REVOKED).display()
            )
        })?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&bytes),
            revocation_time: when,
            reason_code: Some(reason(&why)?),
            invalidity_date: None,
        });
    }
    let n = revoked_certs.len();
    // The CRL number only grows: the time it was signed, in seconds.
    let number = (now.unix_timestamp().max(1) as u64).to_be_bytes();
    let crl = CertificateRevocationListParams {
        this_update: now - Duration::hours(1),
        next_update: now + Duration::days(365),
        crl_number: SerialNumber::from_slice(&number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca, &ca_key)
    .context("signing the revocation list")?;
    write_public(
        &dir.join(CRL),
        &crl.pem().context("encoding the revocation list")?,
    )?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_renew_revoke_list() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        init(dir, &["localhost".into()], DEFAULT_DAYS).expect("init");
        assert!(init(dir, &[], DEFAULT_DAYS).is_err(), "a CA is there");
        let first = sensor(dir, "s1", 30).expect("issue");
        let second = sensor(dir, "s1", 30).expect("renew");
        assert_ne!(first.serial, second.serial);
        let left = second.not_after - OffsetDateTime::now_utc();
        assert!(
            left <= Duration::days(30) && left > Duration::days(29),
            "{left}"
        );
        assert!(sensor(dir, "s1", MAX_DAYS + 1).is_err());
        assert!(sensor(dir, "../x", 30).is_err());

        // Revoking the old serial leaves the renewed one valid.
        assert_eq!(
            revoke(dir, &first.serial, "superseded").expect("revoke"),
            std::slice::from_ref(&first.serial)
        );
        let l = list(dir).expect("list");
        let of = |s: &str| l.iter().find(|e| e.serial == s).expect("listed").clone();
        assert!(of(&first.serial).revoked.is_some());
        assert!(of(&second.serial).revoked.is_none());
        // By name: what is still valid; by file.
        assert_eq!(
            revoke(dir, "s1", "key-compromise").expect("by name"),
            std::slice::from_ref(&second.serial)
        );
        assert!(revoke(dir, "s1", "key-compromise").is_err(), "nothing left");
        let third = sensor(dir, "s2", 30).expect("s2");
        let file = dir.join("sensors/s2.pem");
        assert_eq!(
            revoke(dir, file.to_str().expect("UTF-8"), "unspecified").expect("by file"),
            [third.serial]
        );
        assert!(revoke(dir, "s2", "because").is_err(), "an unknown reason");

        // The list names all three, signed by the CA.
        let pem = std::fs::read(dir.join(CRL)).expect("crl");
        let der = rustls_pemfile::crls(&mut &pem[..])
            .next()
            .expect("a CRL")
            .expect("PEM");
        let (_, crl) = x509_parser::parse_x509_crl(&der).expect("a CRL");
        assert_eq!(crl.iter_revoked_certificates().count(), 3);
    }
}
