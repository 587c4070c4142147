//! `dataset` and `datarep`: named sets of buffer values, shared by every rule that names them,
//! filled from files and by the rules themselves.
//!
//! `dataset:set|isset|isnotset|unset,NAME[, type string|md5|sha256, load FILE, state FILE,
//! save FILE, memcap N, hashsize N]` follows the sticky buffer it reads. `isset` matches when
//! the buffer's value is in the set, `isnotset` when it is not; `set` adds it and matches when
//! it was new (so `dataset:set` alone is "first time seen"), `unset` removes it and matches
//! when it was there. `datarep:NAME, OP, VALUE[, type …, load FILE]` matches when the value's
//! reputation compares so (`>`, `<`, `>=`, `<=`, `==`, `!=`).
//!
//! Files are Suricata's: a `string` set holds one base64-encoded value a line, `md5`/`sha256`
//! one hex digest a line; a `datarep` file `value,reputation`. A file named relative is read
//! from the rules file's folder; `state` is read if it exists and, like `save`, written back by
//! [`Datasets::save`] when the sensor stops. A set holds at most [`MAX_ENTRIES`] values.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::KeywordError;

/// Values one set holds at most; `set` beyond it adds nothing.
pub const MAX_ENTRIES: usize = 1_000_000;

/// What a set's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Md5,
    Sha256,
}

impl Kind {
    fn parse(v: &str) -> Result<Self, KeywordError> {
        match v {
            "string" => Ok(Kind::String),
            "md5" => Ok(Kind::Md5),
            "sha256" => Ok(Kind::Sha256),
            "ipv4" | "ipv6" | "ip" => Err(KeywordError::invalid(
                Some("dataset"),
                v,
                "string, md5 or sha256 (address sets need ip.src/ip.dst buffers)",
            )),
            _ => Err(KeywordError::invalid(
                Some("dataset"),
                v,
                "string, md5 or sha256",
            )),
        }
    }

    /// A buffer's value as the set keeps it: hashes in lower case.
    fn key(self, buf: &[u8]) -> Vec<u8> {
        match self {
            Kind::String => buf.to_vec(),
            Kind::Md5 | Kind::Sha256 => buf.to_ascii_lowercase(),
        }
    }

    /// A file line's value.
    fn read_line(self, line: &str) -> Option<Vec<u8>> {
        let line = line.trim();
        match self {
            Kind::String => STANDARD.decode(line).ok(),
            Kind::Md5 | Kind::Sha256 => {
                let len = if self == Kind::Md5 { 32 } else { 64 };
                (line.len() == len && line.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| line.to_ascii_lowercase().into_bytes())
            }
        }
    }

    fn write_line(self, v: &[u8]) -> String {
        match self {
            Kind::String => STANDARD.encode(v),
            Kind::Md5 | Kind::Sha256 => String::from_utf8_lossy(v).into_owned(),
        }
    }
}

/// One named set, shared by the rules naming it.
pub struct Set {
    pub name: String,
    pub kind: Kind,
    values: Mutex<HashMap<Vec<u8>, i64>>,
    /// Where the set is written back at stop (`state`, `save`).
    save: Option<PathBuf>,
    /// Values `set` could not add for the cap.
    pub refused: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for Set {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Set({}, {:?})", self.name, self.kind)
    }
}

impl Set {
    fn new(name: &str, kind: Kind) -> Self {
        Set {
            name: name.to_owned(),
            kind,
            values: Mutex::new(HashMap::new()),
            save: None,
            refused: Default::default(),
        }
    }

    fn values(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, i64>> {
        // A panic elsewhere cannot leave a set half-written: each change is one insert.
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.values().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, buf: &[u8]) -> bool {
        self.values().contains_key(&self.kind.key(buf))
    }

    /// Add a value; whether it was new.
    pub fn add(&self, buf: &[u8]) -> bool {
        let mut v = self.values();
        let key = self.kind.key(buf);
        if v.contains_key(&key) {
            return false;
        }
        if v.len() >= MAX_ENTRIES {
            self.refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return false;
        }
        v.insert(key, 0);
        true
    }

    /// Remove a value; whether it was there.
    pub fn remove(&self, buf: &[u8]) -> bool {
        self.values().remove(&self.kind.key(buf)).is_some()
    }

    pub fn reputation(&self, buf: &[u8]) -> Option<i64> {
        self.values().get(&self.kind.key(buf)).copied()
    }

    /// Read a set file (`rep`: `value,reputation` lines); the first bad line is the error.
    fn load(&self, path: &Path, rep: bool) -> Result<(), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("dataset {}: {}: {e}", self.name, path.display()))?;
        let mut v = self.values();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || {
                format!(
                    "dataset {}: {}:{}: not a {:?} value",
                    self.name,
                    path.display(),
                    n + 1,
                    self.kind
                )
            };
            let (value, score) = if rep {
                let (value, score) = line.rsplit_once(',').ok_or_else(bad)?;
                (value, score.trim().parse::<i64>().map_err(|_| bad())?)
            } else {
                (line, 0)
            };
            let key = self.kind.read_line(value).ok_or_else(bad)?;
            if v.len() >= MAX_ENTRIES {
                return Err(format!(
                    "dataset {}: {}: more than {MAX_ENTRIES} values",
                    self.name,
                    path.display()
                ));
            }
            v.insert(key, score);
        }
        Ok(())
    }

    /// Write the set where its rules said (`state`, `save`), one value a line, sorted.
    fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.save else {
            return Ok(());
        };
        let lines: std::collections::BTreeSet<String> = self
            .values()
            .keys()
            .map(|k| self.kind.write_line(k))
            .collect();
        let mut text = String::new();
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }
}

/// A `dataset` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Set,
    IsSet,
    IsNotSet,
    Unset,
}

/// How a `datarep` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Gt,
    Lt,
    Ge,
    Le,
    Eq,
    Ne,
}

/// What a rule asks of a set, and the files it names.
#[derive(Debug, Clone)]
pub struct Use {
    pub name: String,
    pub kind: Kind,
    pub load: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub save: Option<PathBuf>,
    /// `dataset`'s command, or `datarep`'s comparison.
    pub test: Test,
    /// The set, once bound; a rule parsed alone has one of its own.
    pub set: Arc<Set>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    Dataset(Command),
    Rep(Compare, i64),
}

impl PartialEq for Use {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
            && self.kind == o.kind
            && self.test == o.test
            && self.load == o.load
            && self.state == o.state
            && self.save == o.save
    }
}

impl Use {
    /// Parse a `dataset` (`rep` false) or `datarep` value.
    pub fn parse(value: &str, rep: bool) -> Result<Self, KeywordError> {
        let keyword = if rep { "datarep" } else { "dataset" };
        let form = || KeywordError::Form {
            keyword: if rep { "datarep" } else { "dataset" },
            form: if rep {
                "NAME, OP, VALUE[, type T, load FILE]"
            } else {
                "set|isset|isnotset|unset, NAME[, type T, load FILE, state FILE, save FILE]"
            },
        };
        let mut parts = value.split(',').map(str::trim);
        let (name, test) = if rep {
            let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(form)?;
            let op = match parts.next().ok_or_else(form)? {
                ">" => Compare::Gt,
                "<" => Compare::Lt,
                ">=" => Compare::Ge,
                "<=" => Compare::Le,
                "==" => Compare::Eq,
                "!=" => Compare::Ne,
                _ => return Err(form()),
            };
            let v = parts.next().ok_or_else(form)?.parse().map_err(|_| form())?;
            (name, Test::Rep(op, v))
        } else {
            let cmd = match parts.next().ok_or_else(form)? {
                "set" => Command::Set,
                "isset" => Command::IsSet,
                "isnotset" => Command::IsNotSet,
                "unset" => Command::Unset,
                _ => return Err(form()),
            };
            let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(form)?;
            (name, Test::Dataset(cmd))
        };
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(KeywordError::invalid(Some(keyword), name, "a set name"));
        }
        let (mut kind, mut load, mut state, mut save) = (None, None, None, None);
        for p in parts {
            let (k, v) = p.split_once(char::is_whitespace).ok_or_else(form)?;
            let v = v.trim();
            match k {
                "type" => kind = Some(Kind::parse(v)?),
                "load" => load = Some(PathBuf::from(v)),
                "state" if !rep => state = Some(PathBuf::from(v)),
                "save" if !rep => save = Some(PathBuf::from(v)),
                // Sizing hints for Suricata's hash tables: the cap here is MAX_ENTRIES.
                "memcap" | "hashsize" => {}
                _ => return Err(form()),
            }
        }
        let kind = kind.ok_or_else(form)?;
        Ok(Use {
            set: Arc::new(Set::new(name, kind)),
            name: name.to_owned(),
            kind,
            load,
            state,
            save,
            test,
        })
    }

    /// Whether `buf` passes, changing the set for `set` and `unset`.
    pub fn matches(&self, buf: &[u8]) -> bool {
        let s = &self.set;
        match self.test {
            Test::Dataset(Command::IsSet) => s.contains(buf),
            Test::Dataset(Command::IsNotSet) => !s.contains(buf),
            Test::Dataset(Command::Set) => s.add(buf),
            Test::Dataset(Command::Unset) => s.remove(buf),
            Test::Rep(op, v) => s.reputation(buf).is_some_and(|r| match op {
                Compare::Gt => r > v,
                Compare::Lt => r < v,
                Compare::Ge => r >= v,
                Compare::Le => r <= v,
                Compare::Eq => r == v,
                Compare::Ne => r != v,
            }),
        }
    }
}

/// The sets of a ruleset, by name: the first rule to name a set makes it (its type, its
/// files); the others share it and must agree on the type.
#[derive(Debug, Default, Clone)]
pub struct Datasets {
    sets: BTreeMap<String, Arc<Set>>,
}

impl Datasets {
    /// Bind `u` to its shared set, reading the files it names from `dir` when it is the first.
    pub fn bind(&mut self, u: &mut Use, dir: &Path) -> Result<(), String> {
        if let Some(s) = self.sets.get(&u.name) {
            if s.kind != u.kind {
                return Err(format!(
                    "dataset {}: type {:?} here, {:?} where it was first named",
                    u.name, u.kind, s.kind
                ));
            }
            u.set = Arc::clone(s);
            return Ok(());
        }
        let resolve = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                dir.join(p)
            }
        };
        let mut set = Set::new(&u.name, u.kind);
        set.save = u.state.as_ref().or(u.save.as_ref()).map(resolve);
        let rep = matches!(u.test, Test::Rep(..));
        if let Some(p) = &u.load {
            set.load(&resolve(p), rep)?;
        }
        if let Some(p) = u.state.as_ref().map(resolve).filter(|p| p.exists()) {
            set.load(&p, rep)?;
        }
        let set = Arc::new(set);
        u.set = Arc::clone(&set);
        self.sets.insert(u.name.clone(), set);
        Ok(())
    }

    /// Write every set that has a `state` or `save` file; the first failure is the error.
    pub fn save(&self) -> Result<(), String> {
        for s in self.sets.values() {
            s.save()
                .map_err(|e| format!("dataset {}: cannot write its file: {e}", s.name))?;
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_first_sight() {
        let u = |v: &str| Use::parse(v, false).unwrap();
        let mut d = Datasets::default();
        let dir = std::env::temp_dir();
        let mut set = u("set, seen-sni, type string");
        let mut isset = u("isset,seen-sni,type string");
        let mut not = u("isnotset,seen-sni,type string");
        for x in [&mut set, &mut isset, &mut not] {
            d.bind(x, &dir).unwrap();
        }
        assert!(not.matches(b"hmi.plant"));
        assert!(set.matches(b"hmi.plant"), "new: matches");
        assert!(!set.matches(b"hmi.plant"), "seen: no more");
        assert!(isset.matches(b"hmi.plant") && !not.matches(b"hmi.plant"));
        let mut unset = u("unset,seen-sni,type string");
        d.bind(&mut unset, &dir).unwrap();
        assert!(unset.matches(b"hmi.plant") && !isset.matches(b"hmi.plant"));
        let mut other = u("isset,seen-sni,type md5");
        assert!(d.bind(&mut other, &dir).is_err());
        assert!(Use::parse("maybe,x,type string", false).is_err());
        assert!(Use::parse("set,x", false).is_err(), "a type is required");
        assert!(Use::parse("set,x,type ip", false).is_err());
        assert!(Use::parse("set,x y,type string", false).is_err());
    }

    #[test]
    fn files_load_and_save() {
        let dir = std::env::temp_dir().join(format!("icsight-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // "evil.example" and "c2.example", base64 a line.
        std::fs::write(dir.join("bad.lst"), "ZXZpbC5leGFtcGxl\nYzIuZXhhbXBsZQ==\n").unwrap();
        std::fs::write(
            dir.join("rep.csv"),
            "ZXZpbC5leGFtcGxl,90\nYzIuZXhhbXBsZQ==,10\n",
        )
        .unwrap();
        std::fs::write(dir.join("ja3.lst"), "E7D705A3286E19EA42F587B344EE6865\n").unwrap();
        let mut d = Datasets::default();
        let mut bad = Use::parse("isset,bad,type string,load bad.lst", false).unwrap();
        d.bind(&mut bad, &dir).unwrap();
        assert!(bad.matches(b"evil.example") && !bad.matches(b"plant.example"));
        let mut rep = Use::parse("rep, >, 50, type string, load rep.csv", true).unwrap();
        d.bind(&mut rep, &dir).unwrap();
        assert!(rep.matches(b"evil.example") && !rep.matches(b"c2.example"));
        let mut ja3 = Use::parse("isset,ja3,type md5,load ja3.lst", false).unwrap();
        d.bind(&mut ja3, &dir).unwrap();
        assert!(ja3.matches(b"e7d705a3286e19ea42f587b344ee6865"));
        // A bad line is named.
        std::fs::write(dir.join("broken.lst"), "ZXZpbC5leGFtcGxl\n%%%\n").unwrap();
        let mut broken = Use::parse("isset,broken,type string,load broken.lst", false).unwrap();
        let e = d.bind(&mut broken, &dir).unwrap_err();
        assert!(e.contains("broken.lst:2"), "{e}");
        // state: read if there, written back.
        let mut seen = Use::parse("set,seen,type string,state seen.lst", false).unwrap();
        d.bind(&mut seen, &dir).unwrap();
        assert!(seen.matches(b"hmi.plant"));
        d.save().unwrap();
        let mut again = Datasets::default();
        let mut seen2 = Use::parse("set,seen,type string,state seen.lst", false).unwrap();
        again.bind(&mut seen2, &dir).unwrap();
        assert!(!seen2.matches(b"hmi.plant"), "remembered across a restart");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
