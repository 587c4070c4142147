//! The collector's rooms call only downwards — http → notify → tier → store → the shared leaves (config,
//! account, auth, event, …) — and no module imports another that imports it back.
//!
//! Read from the source itself: every `crate::…` and `super::…` path of every file (in `use`
//! lists and inline, outside comments and the `#[cfg(test)]` part) is resolved to the module
//! it names. A lower room naming a higher one, a leaf naming a room, or any circle among
//! modules fails here with the files and paths at fault. A parent's `pub use child::…`
//! re-exports are relative paths and not counted: they are the module's face, not a
//! dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The rooms, lowest first; every other top-level module is a leaf, below them all.
const ROOMS: [&str; 4] = ["store", "tier", "notify", "http"];

/// Where a module sits: leaves 0, then the rooms in order. The crate root (`lib.rs`) is above
/// everything and not checked.
fn rank(module: &[String]) -> Option<usize> {
    let first = module.first()?;
    Some(ROOMS.iter().position(|r| r == first).map_or(0, |i| i + 1))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `tier/incident/record.rs` → `tier::incident::record`; `tier/incident/mod.rs` →
/// `tier::incident`; `lib.rs` → the root.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments, string literals and its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn skip_ws(s: &[char], mut i: usize) -> usize {
    while i < s.len() && s[i].is_whitespace() {
        i += 1;
    }
    i
}

/// Parse the path (or `use` tree) at `i`, after `prefix`; push every full path to `out`.
fn tree(s: &[char], i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut i = skip_ws(s, i);
    if s.get(i) == Some(&'{') {
        i += 1;
        loop {
            i = skip_ws(s, i);
            match s.get(i) {
                None => return i,
                Some('}') => return i + 1,
                Some(',') => i += 1,
                _ => {
                    let next = tree(s, i, prefix, out);
                    if next == i {
                        return i + 1;
                    }
                    i = next;
                }
            }
        }
    }
    let start = i;
    while i < s.len() && (is_ident(s[i]) || s[i] == '*') {
        i += 1;
    }
    if i == start {
        if !prefix.is_empty() {
            out.push(prefix.to_vec());
        }
        return i;
    }
    let mut path = prefix.to_vec();
    path.push(s[start..i].iter().collect());
    if s.get(i) == Some(&':') && s.get(i + 1) == Some(&':') {
        return tree(s, i + 2, &path, out);
    }
    out.push(path);
    i
}

/// Every `crate::…` and `super::…` path in `code`, resolved against `module`.
fn references(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let s: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let at_start = i == 0 || !(is_ident(s[i - 1]) || s[i - 1] == ':');
        let rest: String = s[i..(i + 7).min(s.len())].iter().collect();
        if at_start && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let mut found = Vec::new();
            let end = tree(&s, i, &[], &mut found);
            for p in found {
                if let Some(abs) = resolve(&p, module) {
                    out.push(abs);
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

fn resolve(path: &[String], module: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = module.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module a path names: the longest known module it starts with.
fn target<'a>(path: &[String], modules: &'a BTreeSet<Vec<String>>) -> Option<&'a Vec<String>> {
    (1..=path.len()).rev().find_map(|n| modules.get(&path[..n]))
}

struct Graph {
    /// Module → the modules it names, with a path that shows it.
    edges: BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.retain(|f| !f.ends_with("main.rs"));
    let modules: BTreeSet<Vec<String>> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(&src).expect("under src")))
        .collect();
    assert!(
        modules.len() > 20 && ROOMS.iter().all(|r| modules.contains(&vec![r.to_string()])),
        "the rooms are where this test looks: {modules:?}"
    );
    let mut edges: BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>> = BTreeMap::new();
    for f in &files {
        let module = module_of(f.strip_prefix(&src).expect("under src"));
        let text = std::fs::read_to_string(f).expect("read source");
        let entry = edges.entry(module.clone()).or_default();
        for path in references(&code(&text), &module) {
            if let Some(t) = target(&path, &modules) {
                if *t != module && !t.is_empty() {
                    entry.entry(t.clone()).or_insert_with(|| path.join("::"));
                }
            }
        }
    }
    Graph { edges }
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

#[test]
fn rooms_call_only_downwards() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, tos) in &g.edges {
        let Some(rf) = rank(from) else { continue };
        for (to, via) in tos {
            let rt = rank(to).expect("not the root");
            // A leaf may name its own kind (config → account); a room names lower rooms and
            // itself.
            if rt > rf {
                wrong.push(format!("{} names {} ({via})", name(from), name(to)));
            }
        }
    }
    assert!(wrong.is_empty(), "upward references:\n{}", wrong.join("\n"));
}

#[test]
fn no_module_imports_one_that_imports_it() {
    let g = graph();
    // Depth-first search for a back edge; report the circle it closes.
    fn visit(
        m: &Vec<String>,
        g: &Graph,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
        circles: &mut Vec<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(at) = stack.iter().position(|s| s == m) {
            let mut c: Vec<String> = stack[at..].iter().map(|s| name(s)).collect();
            c.push(name(m));
            circles.push(c.join(" → "));
            return;
        }
        stack.push(m.clone());
        for to in g.edges.get(m).into_iter().flat_map(|t| t.keys()) {
            visit(to, g, stack, done, circles);
        }
        stack.pop();
        done.insert(m.clone());
    }
    let mut done = BTreeSet::new();
    let mut circles = Vec::new();
    for m in g.edges.keys() {
        visit(m, &g, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_reader_finds_what_it_must() {
    let m = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
    let code = code(
        "use crate::{a::B, c::{d::E, F}};\n// crate::ignored::X\nlet s = \"crate::no\";\n\
         fn f() { super::super::g::h(); crate::i::j() }\n#[cfg(test)]\nuse crate::tests_only;",
    );
    let refs = references(&code, &m("x::y::z"));
    assert_eq!(
        refs,
        vec![m("a::B"), m("c::d::E"), m("c::F"), m("x::g::h"), m("i::j")]
    );
}
