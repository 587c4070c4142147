//! A small certificate authority for a collector and its sensors: `collector pki init` makes the
//! CA and the collector's server certificate, `collector pki sensor ID` a sensor's client
//! certificate whose common name is its id — the name the collector binds it by.

use std::path::Path;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

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

fn write_public(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

fn named(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "icsight");
    dn.push(DnType::CommonName, cn);
    dn
}

/// Make `dir/ca.pem`, `dir/ca.key`, `dir/server.pem` and `dir/server.key`; the server
/// certificate names `hosts` (DNS names or IP addresses).
pub fn init(dir: &Path, hosts: &[String]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    if dir.join("ca.key").exists() {
        anyhow::bail!("{}: a CA is already there", dir.join("ca.key").display());
    }
    let ca_key = KeyPair::generate().context("generating the CA key")?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
    ca.distinguished_name = named("icsight collector CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_after = rcgen::date_time_ymd(2046, 1, 1);
    let ca_cert = ca.self_signed(&ca_key).context("signing the CA")?;
    write_public(&dir.join("ca.pem"), &ca_cert.pem())?;
    write_private(&dir.join("ca.key"), &ca_key.serialize_pem())?;
    let issued = issue(
        dir,
        "icsight collector",
        hosts,
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    write_public(&dir.join("server.pem"), &issued.0)?;
    write_private(&dir.join("server.key"), &issued.1)?;
    Ok(())
}

/// Make `dir/sensors/ID.pem` and `ID.key`, signed by the CA in `dir`.
pub fn sensor(dir: &Path, id: &str) -> anyhow::Result<()> {
    let out = dir.join("sensors");
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    let (cert, key) = issue(dir, id, &[], ExtendedKeyUsagePurpose::ClientAuth)?;
    write_public(&out.join(format!("{id}.pem")), &cert)?;
    write_private(&out.join(format!("{id}.key")), &key)?;
    Ok(())
}

/// A certificate for `cn`, signed by the CA in `dir`: (certificate PEM, key PEM).
fn issue(
    dir: &Path,
    cn: &str,
    hosts: &[String],
    usage: ExtendedKeyUsagePurpose,
) -> anyhow::Result<(String, String)> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))
    };
    let ca_key = KeyPair::from_pem(&read("ca.key")?).context("ca.key: not a key")?;
    let ca = CertificateParams::from_ca_cert_pem(&read("ca.pem")?)
        .context("ca.pem: not a CA certificate")?
        .self_signed(&ca_key)
        .context("ca.pem and ca.key do not match")?;
    let key = KeyPair::generate().context("generating a key")?;
    let mut params = CertificateParams::new(hosts.to_vec()).context("certificate names")?;
    params.distinguished_name = named(cn);
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .context("signing the certificate")?;
    Ok((cert.pem(), key.serialize_pem()))
}
