//! Sealing the particulars of the persons brought in: the cluster's
//! particulars key, AES-256-GCM (ring), pseudonyms, and the checks of a
//! name and a resident identity number.
//!
//! The key file lives outside the data directory (the node refuses one
//! inside it) and holds one key per line, `ID HEX` (an id of 1 to 64
//! letters, digits, `-` or `_`, and 64 hex digits: 256 bits); `#` starts a
//! comment. The **first** key seals; every key opens. Rotation: put a new
//! key first on every node and reload (SIGHUP); new particulars are sealed
//! with it while the old ones stay readable; drop an old key once the
//! retention period has purged everything sealed with it (see
//! `docs/security.md`).
//!
//! A sealed record binds its case, its person and its key id as
//! associated data: a ciphertext moved to another person does not open.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use casehub_model::{CaseId, PersonId};
use casehub_store::Sealed;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// A person's particulars in the clear.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Particulars {
    /// The name, Unicode, 1 to 64 characters.
    pub name: String,
    /// The resident identity number (公民身份号码, GB 11643), or empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_number: String,
}

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Check a person's name: 1 to 64 characters, no control characters, not
/// blank.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "a name has 1 to {MAX_NAME_CHARS} characters and is not blank"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("a name has no control characters".into());
    }
    Ok(())
}

/// Check a resident identity number (GB 11643-1999): 17 digits, the first
/// six a region code, then a real birth date (YYYYMMDD), then the ISO 7064
/// MOD 11-2 check character (a digit or `X`).
pub fn check_id_number(n: &str) -> Result<(), String> {
    let b = n.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return Err("18 characters: 17 digits and a check digit or X".into());
    }
    let birth = &n[6..14];
    if chrono::NaiveDate::parse_from_str(birth, "%Y%m%d").is_err() || &n[6..8] < "18" {
        return Err(format!("{birth} is not a birth date (YYYYMMDD)"));
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize];
    if b[17] != check {
        return Err(format!(
            "the check character is {:?}, not {:?}",
            char::from(check),
            char::from(b[17])
        ));
    }
    Ok(())
}

/// Check both fields; `field` names the person (`case.persons[0]`).
pub fn check(field: &str, p: &Particulars) -> Result<(), (String, String)> {
    check_name(&p.name).map_err(|e| (format!("{field}.name"), e))?;
    if !p.id_number.is_empty() {
        check_id_number(&p.id_number).map_err(|e| (format!("{field}.id_number"), e))?;
    }
    Ok(())
}

/// A fresh pseudonym: `人员-` and eight random hex digits.
pub fn pseudonym(rng: &SystemRandom) -> String {
    let mut b = [0u8; 4];
    rng.fill(&mut b).expect("the system's randomness");
    format!("人员-{}", hex(&b))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Why a key file was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: no key (one line per key: ID and 64 hex digits)")]
    Empty { path: PathBuf },
}

/// Why particulars could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("sealed with key {0:?}, which this node's key file does not hold")]
    UnknownKey(String),
    #[error("the sealed particulars do not open with key {0:?} (altered, or moved)")]
    Corrupt(String),
}

/// The keys of a particulars key file: the first seals, all open.
pub struct KeyRing {
    keys: Vec<(String, LessSafeKey)>,
    rng: SystemRandom,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("KeyRing").field("ids", &ids).finish()
    }
}

fn valid_key_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl KeyRing {
    /// Read a key file.
    pub fn from_file(path: &Path) -> Result<KeyRing, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        KeyRing::parse(&text, path)
    }

    /// Parse a key file's text (`path` for the errors).
    pub fn parse(text: &str, path: &Path) -> Result<KeyRing, KeyError> {
        let mut keys = Vec::new();
        let mut ids = BTreeSet::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |reason: String| KeyError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            };
            let mut parts = line.split_whitespace();
            let (Some(id), Some(material), None) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad("expected `ID HEX`: a key id and 64 hex digits".into()));
            };
            if !valid_key_id(id) {
                return Err(bad(format!(
                    "key id {id:?}: 1 to 64 letters, digits, - or _"
                )));
            }
            if !ids.insert(id.to_string()) {
                return Err(bad(format!("key id {id:?} appears twice")));
            }
            let bytes = unhex(material)
                .filter(|b| b.len() == 32)
                .ok_or_else(|| bad(format!("key {id:?}: 64 hex digits (256 bits)")))?;
            let key = UnboundKey::new(&AES_256_GCM, &bytes)
                .map_err(|_| bad(format!("key {id:?}: not an AES-256 key")))?;
            keys.push((id.to_string(), LessSafeKey::new(key)));
        }
        if keys.is_empty() {
            return Err(KeyError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(KeyRing {
            keys,
            rng: SystemRandom::new(),
        })
    }

    /// The id of the key that seals.
    pub fn active_id(&self) -> &str {
        &self.keys[0].0
    }

    /// The ids of every key.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    /// Seal `p` for `person` of `case` with the active key.
    pub fn seal(&self, case: &CaseId, person: &PersonId, p: &Particulars) -> Sealed {
        let (id, key) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).expect("the system's randomness");
        let mut data = serde_json::to_vec(p).expect("particulars serialize");
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(case, person, id)),
            &mut data,
        )
        .expect("AES-GCM seals any length below its limit");
        Sealed {
            key_id: id.clone(),
            nonce: hex(&nonce),
            ciphertext: hex(&data),
        }
    }

    /// Open what [`KeyRing::seal`] sealed for `person` of `case`.
    pub fn open(
        &self,
        case: &CaseId,
        person: &PersonId,
        s: &Sealed,
    ) -> Result<Particulars, OpenError> {
        let Some((id, key)) = self.keys.iter().find(|(id, _)| *id == s.key_id) else {
            return Err(OpenError::UnknownKey(s.key_id.clone()));
        };
        let corrupt = || OpenError::Corrupt(id.clone());
        let nonce: [u8; NONCE_LEN] = unhex(&s.nonce)
            .and_then(|n| n.try_into().ok())
            .ok_or_else(corrupt)?;
        let mut data = unhex(&s.ciphertext).ok_or_else(corrupt)?;
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(case, person, id)),
                &mut data,
            )
            .map_err(|_| corrupt())?;
        serde_json::from_slice(plain).map_err(|_| corrupt())
    }
}

fn aad(case: &CaseId, person: &PersonId, key_id: &str) -> Vec<u8> {
    format!("casehub particulars v1\0{case}\0{person}\0{key_id}").into_bytes()
}

/// A new key file's text: one fresh key named `id`.
pub fn new_key_file(id: &str) -> Result<String, String> {
    if !valid_key_id(id) {
        return Err(format!("key id {id:?}: 1 to 64 letters, digits, - or _"));
    }
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| "no randomness for the key".to_string())?;
    Ok(format!(
        "# casehub particulars key file: the first key seals, every key opens.\n{id} {}\n",
        hex(&key)
    ))
}

/// A node's particulars keys, reloadable from their file.
#[derive(Debug)]
pub struct Keys {
    path: PathBuf,
    ring: RwLock<Arc<KeyRing>>,
}

impl Keys {
    /// Read the key file at `path`.
    pub fn from_file(path: impl Into<PathBuf>) -> Result<Arc<Keys>, KeyError> {
        let path = path.into();
        let ring = KeyRing::from_file(&path)?;
        Ok(Arc::new(Keys {
            path,
            ring: RwLock::new(Arc::new(ring)),
        }))
    }

    /// The keys now.
    pub fn current(&self) -> Arc<KeyRing> {
        self.ring.read().expect("key ring lock").clone()
    }

    /// Read the file again; on an error the keys stay as they were.
    pub fn reload(&self) -> Result<(), KeyError> {
        let ring = KeyRing::from_file(&self.path)?;
        *self.ring.write().expect("key ring lock") = Arc::new(ring);
        Ok(())
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Refuse a key file inside the data directory: a copy of the data must not
/// carry its key.
pub fn check_outside(key: &Path, data_dir: &Path) -> Result<(), String> {
    let abs = |p: &Path| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
    };
    let (k, d) = (abs(key), abs(data_dir));
    if k.starts_with(&d) {
        return Err(format!(
            "{} is inside the data directory {}: keep the key apart from the data",
            key.display(),
            data_dir.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::parse(&new_key_file("k1").unwrap(), Path::new("k")).unwrap()
    }

    fn ids() -> (CaseId, PersonId) {
        (CaseId::new("C-1").unwrap(), PersonId::new("p1").unwrap())
    }

    #[test]
    fn sealed_particulars_open_with_the_key_and_hold_no_plaintext() {
        let r = ring();
        let (c, p) = ids();
        let clear = Particulars {
            name: "张三丰".into(),
            id_number: "11010519491231002X".into(),
        };
        let s = r.seal(&c, &p, &clear);
        assert_eq!(s.key_id, "k1");
        assert!(!s.ciphertext.contains(&hex("张三丰".as_bytes())));
        assert_eq!(r.open(&c, &p, &s).unwrap(), clear);
        // Two seals of the same particulars differ (fresh nonces).
        assert_ne!(r.seal(&c, &p, &clear).ciphertext, s.ciphertext);
    }

    #[test]
    fn a_ciphertext_moved_altered_or_under_another_key_does_not_open() {
        let r = ring();
        let (c, p) = ids();
        let s = r.seal(
            &c,
            &p,
            &Particulars {
                name: "李四".into(),
                ..Default::default()
            },
        );
        let other = PersonId::new("p2").unwrap();
        assert_eq!(r.open(&c, &other, &s), Err(OpenError::Corrupt("k1".into())));
        let mut altered = s.clone();
        let last = altered.ciphertext.pop().unwrap();
        altered.ciphertext.push(if last == '0' { '1' } else { '0' });
        assert!(matches!(
            r.open(&c, &p, &altered),
            Err(OpenError::Corrupt(_))
        ));
        let stranger = KeyRing::parse(&new_key_file("k1").unwrap(), Path::new("k")).unwrap();
        assert!(matches!(
            stranger.open(&c, &p, &s),
            Err(OpenError::Corrupt(_))
        ));
        let other_id = KeyRing::parse(&new_key_file("k2").unwrap(), Path::new("k")).unwrap();
        assert_eq!(
            other_id.open(&c, &p, &s),
            Err(OpenError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn after_rotation_the_new_key_seals_and_the_old_still_opens() {
        let old = new_key_file("old").unwrap();
        let new = new_key_file("new").unwrap();
        let before = KeyRing::parse(&old, Path::new("k")).unwrap();
        let (c, p) = ids();
        let s = before.seal(
            &c,
            &p,
            &Particulars {
                name: "王五".into(),
                ..Default::default()
            },
        );
        let after = KeyRing::parse(&format!("{new}{old}"), Path::new("k")).unwrap();
        assert_eq!(after.active_id(), "new");
        assert_eq!(after.open(&c, &p, &s).unwrap().name, "王五");
        assert_eq!(after.seal(&c, &p, &Particulars::default()).key_id, "new");
    }

    #[test]
    fn a_bad_key_file_names_its_line() {
        let e = KeyRing::parse("# keys\n\nk1 abcd\n", Path::new("/etc/k")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/k:3: key \"k1\": 64 hex digits (256 bits)"
        );
        let twice = format!(
            "{}{}",
            new_key_file("a").unwrap(),
            new_key_file("a").unwrap()
        );
        assert!(
            KeyRing::parse(&twice, Path::new("k"))
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(matches!(
            KeyRing::parse("# none\n", Path::new("k")),
            Err(KeyError::Empty { .. })
        ));
        assert!(
            KeyRing::parse("k/1 00\n", Path::new("k"))
                .unwrap_err()
                .to_string()
                .contains("key id")
        );
    }

    #[test]
    fn identity_numbers_are_checked() {
        check_id_number("11010519491231002X").unwrap();
        check_id_number("440524188001010014").unwrap();
        assert!(
            check_id_number("110105194912310021")
                .unwrap_err()
                .contains("check character")
        );
        assert!(
            check_id_number("11010519491331002X")
                .unwrap_err()
                .contains("birth date")
        );
        assert!(check_id_number("1101051949123100").is_err());
        assert!(check_name(" ").is_err());
        assert!(check_name(&"名".repeat(65)).is_err());
        check_name("阿依古丽·买买提").unwrap();
    }

    #[test]
    fn the_key_must_live_outside_the_data_directory() {
        let d = tempfile::tempdir().unwrap();
        let inside = d.path().join("keys/k");
        assert!(check_outside(&inside, d.path()).is_err());
        let other = tempfile::tempdir().unwrap();
        check_outside(&other.path().join("k"), d.path()).unwrap();
    }
}
