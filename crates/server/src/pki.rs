//! The cluster's certificates: a cluster CA, node certificates that name
//! their node id, and user certificates that name their user (`casehub cert
//! …`, rcgen), and reading who a presented certificate names (x509-parser).
//!
//! | certificate | names | extended key usage |
//! |---|---|---|
//! | cluster CA | `CN=<name>` | — (a CA, path length 0) |
//! | node `N` | DNS `node-N.casehub` ([`node_dns_name`]), plus the hosts it is reached at (DNS names or IP addresses); `CN=casehub node N` | server and client authentication |
//! | user `U` | `CN=U` (Unicode), no node name | client authentication only |
//!
//! A node connecting to node `N` verifies the server certificate against the
//! cluster CA *and* for the name `node-N.casehub`, so a node cannot answer
//! for another. A node receiving a peer call reads the node id from the
//! client certificate's `node-N.casehub` name ([`principal_of`]). A user
//! certificate has no such name, and cannot serve (no server
//! authentication).

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

type NodeId = u64;

/// A certificate and its private key, PEM-encoded.
#[derive(Clone, PartialEq, Eq)]
pub struct CertifiedPem {
    pub cert: String,
    pub key: String,
}

impl std::fmt::Debug for CertifiedPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a private key.
        f.debug_struct("CertifiedPem")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

/// Why a certificate could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
}

fn invalid(what: impl Into<String>, e: impl std::fmt::Display) -> PkiError {
    PkiError::Invalid {
        what: what.into(),
        message: e.to_string(),
    }
}

/// The DNS name that identifies node `id` in its certificate.
pub fn node_dns_name(id: NodeId) -> String {
    format!("node-{id}.casehub")
}

/// The node id a DNS name `node-N.casehub` names.
fn node_id_of_dns_name(name: &str) -> Option<NodeId> {
    let id = name.strip_prefix("node-")?.strip_suffix(".casehub")?;
    // Canonical digits only: `node-02` is not node 2.
    if id.starts_with('0') || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok().filter(|id| *id > 0)
}

/// Who a certificate names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A node of the cluster.
    Node(NodeId),
    /// A user, by user name.
    User(String),
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::Node(id) => write!(f, "node {id}"),
            Principal::User(name) => write!(f, "user {name}"),
        }
    }
}

/// Who a (verified) certificate names: a node if it carries a
/// `node-N.casehub` name, else the user of its common name.
pub fn principal_of(der: &[u8]) -> Result<Principal, PkiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| invalid("the presented certificate", e))?;
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name
                && let Some(id) = node_id_of_dns_name(dns)
            {
                return Ok(Principal::Node(id));
            }
        }
    }
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .filter(|cn| !cn.trim().is_empty())
        .ok_or_else(|| {
            invalid(
                "the presented certificate",
                "it names neither a node (DNS node-N.casehub) nor a user (a common name)",
            )
        })?;
    Ok(Principal::User(cn.to_string()))
}

/// The validity of a new certificate: from an hour ago (clocks differ) for
/// `days` days.
fn validity(params: &mut CertificateParams, days: u32) -> Result<(), PkiError> {
    if days == 0 {
        return Err(invalid(
            "days",
            "a certificate is valid for at least one day",
        ));
    }
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(i64::from(days));
    Ok(())
}

/// A new cluster CA named `name`, valid for `days` days.
pub fn new_ca(name: &str, days: u32) -> Result<CertifiedPem, PkiError> {
    if name.trim().is_empty() {
        return Err(invalid("the CA's name", "it is empty"));
    }
    let mut params = CertificateParams::default();
    validity(&mut params, days)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name.to_string());
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().map_err(|e| invalid("the CA's key", e))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| invalid("the CA certificate", e))?;
    Ok(CertifiedPem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

fn issuer(ca: &CertifiedPem) -> Result<Issuer<'static, KeyPair>, PkiError> {
    let key = KeyPair::from_pem(&ca.key).map_err(|e| invalid("the CA's key", e))?;
    Issuer::from_ca_cert_pem(&ca.cert, key).map_err(|e| invalid("the CA certificate", e))
}

/// A SAN of a host: an IP address or a DNS name.
fn host_san(host: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !ok {
        return Err(invalid(
            format!("host {host:?}"),
            "not an IP address or a DNS name",
        ));
    }
    Ok(SanType::DnsName(
        host.try_into()
            .map_err(|e| invalid(format!("host {host:?}"), e))?,
    ))
}

/// Node `id`'s certificate, signed by `ca`: it names the node and the
/// `hosts` (DNS names or IP addresses) clients reach it at, and serves as
/// both a server and a client certificate.
pub fn node_cert(
    ca: &CertifiedPem,
    id: NodeId,
    hosts: &[String],
    days: u32,
) -> Result<CertifiedPem, PkiError> {
    let mut params = node_params(id, hosts)?;
    validity(&mut params, days)?;
    sign(ca, params, &format!("node {id}'s certificate"))
}

/// Node `id`'s certificate as [`node_cert`] makes it, but expired yesterday
/// (for tests of its refusal).
pub fn expired_node_cert(
    ca: &CertifiedPem,
    id: NodeId,
    hosts: &[String],
) -> Result<CertifiedPem, PkiError> {
    let mut params = node_params(id, hosts)?;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(30);
    params.not_after = now - Duration::days(1);
    sign(ca, params, &format!("node {id}'s expired certificate"))
}

fn node_params(id: NodeId, hosts: &[String]) -> Result<CertificateParams, PkiError> {
    if id == 0 {
        return Err(invalid("node id 0", "node ids start at 1"));
    }
    let mut sans = vec![host_san(&node_dns_name(id))?];
    for h in hosts {
        sans.push(host_san(h)?);
    }
    let mut params = CertificateParams::default();
    params.subject_alt_names = sans;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("casehub node {id}"));
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    Ok(params)
}

/// User `name`'s client certificate, signed by `ca`. The name may be any
/// Unicode text without control characters.
pub fn user_cert(ca: &CertifiedPem, name: &str, days: u32) -> Result<CertifiedPem, PkiError> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(invalid(
            format!("user name {name:?}"),
            "a user name is not empty and has no control characters",
        ));
    }
    if node_id_of_dns_name(name).is_some() {
        return Err(invalid(
            format!("user name {name:?}"),
            "it is the name of a node",
        ));
    }
    let mut params = CertificateParams::default();
    validity(&mut params, days)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name.to_string());
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    sign(ca, params, &format!("user {name}'s certificate"))
}

fn sign(
    ca: &CertifiedPem,
    params: CertificateParams,
    what: &str,
) -> Result<CertifiedPem, PkiError> {
    let issuer = issuer(ca)?;
    let key = KeyPair::generate().map_err(|e| invalid(what, e))?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| invalid(what, e))?;
    Ok(CertifiedPem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// The DER of the first certificate in a PEM text.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, PkiError> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| invalid("the PEM certificate", e))?;
    Ok(p.contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_and_user_certificates_name_their_principal() {
        let ca = new_ca("casehub test CA", 1).unwrap();
        let node = node_cert(&ca, 7, &["127.0.0.1".into(), "n7.example".into()], 1).unwrap();
        let der = pem_to_der(&node.cert).unwrap();
        assert_eq!(principal_of(&der).unwrap(), Principal::Node(7));
        let user = user_cert(&ca, "张三", 1).unwrap();
        let der = pem_to_der(&user.cert).unwrap();
        assert_eq!(principal_of(&der).unwrap(), Principal::User("张三".into()));
    }

    #[test]
    fn bad_input_is_refused_with_the_field() {
        let ca = new_ca("ca", 1).unwrap();
        let e = node_cert(&ca, 1, &["bad host!".into()], 1).unwrap_err();
        assert!(e.to_string().contains("bad host!"), "{e}");
        let e = node_cert(&ca, 0, &[], 1).unwrap_err();
        assert!(e.to_string().contains("node id 0"), "{e}");
        let e = user_cert(&ca, " ", 1).unwrap_err();
        assert!(e.to_string().contains("user name"), "{e}");
        let e = user_cert(&ca, "node-3.casehub", 1).unwrap_err();
        assert!(e.to_string().contains("name of a node"), "{e}");
        let e = new_ca("ca", 0).unwrap_err();
        assert!(e.to_string().contains("days"), "{e}");
        let broken = CertifiedPem {
            cert: ca.cert.clone(),
            key: "not a key".into(),
        };
        let e = node_cert(&broken, 1, &[], 1).unwrap_err();
        assert!(e.to_string().contains("CA's key"), "{e}");
    }

    #[test]
    fn node_names_are_canonical() {
        assert_eq!(node_id_of_dns_name("node-12.casehub"), Some(12));
        for bad in [
            "node-0.casehub",
            "node-02.casehub",
            "node-.casehub",
            "node-1.casehubx",
            "xnode-1.casehub",
            "node-+1.casehub",
        ] {
            assert_eq!(node_id_of_dns_name(bad), None, "{bad}");
        }
    }
}
