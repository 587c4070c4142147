//! Loading rules files and directories into a [`Ruleset`], with every refused rule reported as
//! `FILE:LINE: reason` while the others load.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::classification::Classification;
use crate::engine::Ruleset;
use crate::flow::FlowbitNames;
use crate::signature::parse_rules_with;
use crate::Vars;

/// One rule (or file) that did not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// The rule's first line; 0 when the whole file failed.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

/// The outcome of a load.
#[derive(Debug)]
pub struct Loaded {
    pub ruleset: Ruleset,
    pub errors: Vec<LoadError>,
    /// The rules files read, in order.
    pub files: Vec<PathBuf>,
    /// Rules loaded from each file, by file.
    pub loaded_by_file: BTreeMap<PathBuf, usize>,
}

impl Loaded {
    /// Rules that failed (file-level failures not counted).
    pub fn failed_rules(&self) -> usize {
        self.errors.iter().filter(|e| e.line > 0).count()
    }

    /// Per file read: rules loaded and rules refused, in the order the files were read.
    pub fn by_file(&self) -> Vec<(&Path, usize, usize)> {
        let mut refused: BTreeMap<&Path, usize> = BTreeMap::new();
        for e in self.errors.iter().filter(|e| e.line > 0) {
            *refused.entry(&e.file).or_default() += 1;
        }
        self.files
            .iter()
            .map(|f| {
                let loaded = self.loaded_by_file.get(f).copied().unwrap_or(0);
                (
                    f.as_path(),
                    loaded,
                    refused.get(f.as_path()).copied().unwrap_or(0),
                )
            })
            .collect()
    }

    /// Refused rules counted by [`reason`], most frequent first.
    pub fn by_reason(&self) -> Vec<(String, usize)> {
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for e in self.errors.iter().filter(|e| e.line > 0) {
            *reasons.entry(reason(&e.message)).or_default() += 1;
        }
        let mut table: Vec<_> = reasons.into_iter().collect();
        table.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        table
    }
}

/// A refusal's reason without what varies from rule to rule (the expression, the value, the
/// sid): what a table of refusals counts.
pub fn reason(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("pcre: pcre `") {
        let why = rest.rsplit("`: ").next().unwrap_or(rest);
        return format!("pcre: {}", why.trim_start_matches("error: "));
    }
    if message.starts_with('`') && message.contains("`: not a") {
        return "a content modifier names a byte_extract variable".into();
    }
    if message.starts_with("sid ") && message.contains("is already used by") {
        return "a sid already used".into();
    }
    message.to_owned()
}

/// The `.rules` files a path names: itself, or those in it (recursively, sorted by name).
pub fn rule_files(path: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
    if !path.is_dir() {
        out.push(path.to_owned());
        return;
    }
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(e) => {
            errors.push(LoadError {
                file: path.to_owned(),
                line: 0,
                message: format!("cannot read the directory: {e}"),
            });
            return;
        }
    };
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rule_files(&p, out, errors);
        } else if p.extension().is_some_and(|x| x == "rules") {
            out.push(p);
        }
    }
}

/// What a load allows beyond the rules' own text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Refuse rules for keywords accepted without effect on a passive sensor (`rawbytes` …).
    pub strict: bool,
    /// Run `lua` scripts, under these limits; `None` refuses rules that name one.
    pub lua: Option<crate::lua::Limits>,
}

/// Scripts larger than this are refused: a rule's script is a page of code, not a program.
const MAX_SCRIPT: u64 = 1 << 20;

/// Read and check the script a rule's `lua` names, relative to the rules file's directory.
fn load_script(u: &mut crate::lua::LuaUse, dir: &Path, opts: &LoadOptions) -> Result<(), String> {
    let Some(limits) = opts.lua else {
        return Err(format!(
            "lua:{}: lua scripts are disabled ([rules] lua = true runs them, as Suricata's security.lua.allow-rules)",
            u.path
        ));
    };
    let path = dir.join(&u.path);
    let size = std::fs::metadata(&path)
        .map_err(|e| format!("lua:{}: cannot read {}: {e}", u.path, path.display()))?
        .len();
    if size > MAX_SCRIPT {
        return Err(format!("lua:{}: {size} bytes, more than 1 MiB", u.path));
    }
    let source = std::fs::read(&path)
        .map_err(|e| format!("lua:{}: cannot read {}: {e}", u.path, path.display()))?;
    let script = crate::lua::Script::compile(&u.path, source, limits)?;
    u.script = Some(std::sync::Arc::new(script));
    Ok(())
}

/// Load every rule under `paths` (files or directories).
pub fn load(paths: &[PathBuf], vars: &Vars, classes: &Classification) -> Loaded {
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for p in paths {
        rule_files(p, &mut files, &mut errors);
    }
    let mut sources = Vec::new();
    for f in &files {
        match std::fs::read_to_string(f) {
            Ok(text) => sources.push((f.clone(), text)),
            Err(e) => errors.push(LoadError {
                file: f.clone(),
                line: 0,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    let mut loaded = load_sources(&sources, vars, classes);
    errors.append(&mut loaded.errors);
    loaded.errors = errors;
    loaded.files = files;
    loaded
}

/// Load rules from texts, each named by the file it came from.
pub fn load_sources(
    sources: &[(PathBuf, String)],
    vars: &Vars,
    classes: &Classification,
) -> Loaded {
    load_layered(
        sources,
        sources.len(),
        vars,
        classes,
        &LoadOptions::default(),
    )
}

/// Load rules from texts, each named by the file it came from, where those from
/// `sources[bulletins_from..]` are bulletins': each is held to [`crate::bulletin`]'s caps and
/// rules, and refused whole, naming why, when it breaks one. Bulletins come last, so a sid
/// they share with the sensor's own rules is refused in the bulletin. `opts` says whether
/// keywords without effect are refused and whether scripts run.
pub fn load_layered(
    sources: &[(PathBuf, String)],
    bulletins_from: usize,
    vars: &Vars,
    classes: &Classification,
    opts: &LoadOptions,
) -> Loaded {
    let mut errors = Vec::new();
    let mut bits = FlowbitNames::default();
    let mut all = Vec::new();
    let mut seen: HashMap<(u32, u32), (usize, usize)> = HashMap::new();
    let mut loaded_by_file: BTreeMap<PathBuf, usize> = BTreeMap::new();
    let mut datasets = crate::dataset::Datasets::default();
    for (fi, (file, text)) in sources.iter().enumerate() {
        let bulletin = fi >= bulletins_from;
        if bulletin {
            if let Err(message) = crate::bulletin::check_text(text) {
                errors.push(LoadError {
                    file: file.clone(),
                    line: 0,
                    message,
                });
                continue;
            }
        }
        let (sigs, errs) = parse_rules_with(text, vars, &mut bits);
        errors.extend(errs.into_iter().map(|e| LoadError {
            file: file.clone(),
            line: e.line,
            message: e.message,
        }));
        if bulletin {
            let refused: Vec<LoadError> = sigs
                .iter()
                .filter_map(|sig| {
                    let message = crate::bulletin::check_rule(sig, &bits).err()?;
                    Some(LoadError {
                        file: file.clone(),
                        line: sig.line,
                        message: format!("{message}; the bulletin is refused whole"),
                    })
                })
                .collect();
            if !refused.is_empty() {
                errors.extend(refused);
                continue;
            }
        }
        let dir = file.parent().unwrap_or(Path::new("."));
        for mut sig in sigs {
            let bound = sig.datasets_mut().try_for_each(|u| datasets.bind(u, dir));
            if let Err(message) = bound {
                errors.push(LoadError {
                    file: file.clone(),
                    line: sig.line,
                    message,
                });
                continue;
            }
            if let Some(u) = sig.lua.as_mut() {
                if let Err(message) = load_script(u, dir, opts) {
                    errors.push(LoadError {
                        file: file.clone(),
                        line: sig.line,
                        message,
                    });
                    continue;
                }
            }
            if let (true, Some(name)) = (opts.strict, sig.without_effect.first()) {
                errors.push(LoadError {
                    file: file.clone(),
                    line: sig.line,
                    message: format!(
                        "keyword `{name}` has no effect on a passive sensor (refused when strict)"
                    ),
                });
                continue;
            }
            if let Err(k) = crate::engine::class_of(&sig, classes) {
                errors.push(LoadError {
                    file: file.clone(),
                    line: sig.line,
                    message: k.to_string(),
                });
                continue;
            }
            if let Some(&(f0, l0)) = seen.get(&(sig.gid, sig.sid)) {
                errors.push(LoadError {
                    file: file.clone(),
                    line: sig.line,
                    message: format!(
                        "sid {}:{} is already used by {}:{l0}",
                        sig.gid,
                        sig.sid,
                        sources[f0].0.display()
                    ),
                });
                continue;
            }
            seen.insert((sig.gid, sig.sid), (fi, sig.line));
            *loaded_by_file.entry(file.clone()).or_default() += 1;
            all.push(sig);
        }
    }
    let (mut ruleset, errs) = Ruleset::compile(all, classes, bits);
    ruleset.datasets = datasets;
    // Classtypes were checked file by file above, so nothing is refused here.
    debug_assert!(errs.is_empty());
    errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Loaded {
        ruleset,
        errors,
        files: sources.iter().map(|(f, _)| f.clone()).collect(),
        loaded_by_file,
    }
}
