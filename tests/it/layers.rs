//! Issue 21: floors that only look down. Reads `src/`, resolves every `crate::` (and
//! `super::`) path to the file that defines it, and fails on a cycle between files and on an
//! import from a lower floor into a higher one. The floors are the table at the top of
//! `src/lib.rs`, so the picture in the code and the rule the suite keeps are one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every `.rs` file under `src/`, by its path relative to `src/`, with its text.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let src = Path::new(ROOT).join("src");
    let mut out = BTreeMap::new();
    walk(&src, &src, &mut out);
    out
}

/// The module path a file defines: `render/mod.rs` -> `render`, `lib.rs` -> ``.
fn module_of(file: &str) -> Vec<String> {
    let stem = file.strip_suffix(".rs").unwrap();
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The text without its unit-test module (a `#[cfg(test)]` followed by `mod name {`, always
/// the file's last item) and without comments: tests and prose may name any floor.
fn code_of(text: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    let all: Vec<&str> = text.lines().collect();
    for (i, line) in all.iter().enumerate() {
        let next = all[i + 1..].iter().find(|l| !l.trim().is_empty());
        if line.trim() == "#[cfg(test)]"
            && next
                .is_some_and(|n| n.trim_start().starts_with("mod ") && n.trim_end().ends_with('{'))
        {
            break;
        }
        lines.push(line.split("//").next().unwrap());
    }
    lines.join("\n")
}

/// Every path a file's code names through `crate::` (or `quotaline::` from `main.rs`) or
/// `super::`, with `use` groups (`crate::{a, b::{c, d}}`) expanded, made absolute.
fn paths_named(module: &[String], code: &str) -> Vec<Vec<String>> {
    fn ident(rest: &str) -> (&str, &str) {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (&rest[..end], &rest[end..])
    }
    /// Parses `a::b::{c, d::e}` at `rest` under `prefix`; returns what follows.
    fn tree<'a>(prefix: Vec<String>, rest: &'a str, out: &mut Vec<Vec<String>>) -> &'a str {
        let rest = rest.trim_start();
        if let Some(inner) = rest.strip_prefix('{') {
            let mut rest = inner;
            loop {
                rest = rest.trim_start();
                if let Some(after) = rest.strip_prefix('}') {
                    return after;
                }
                if let Some(after) = rest.strip_prefix(',') {
                    rest = after;
                    continue;
                }
                let before = rest.len();
                rest = tree(prefix.clone(), rest, out);
                if rest.len() == before {
                    // Not a path (a glob, say): skip a character.
                    rest = &rest[rest.chars().next().map_or(0, char::len_utf8)..];
                }
            }
        }
        let (name, after) = ident(rest);
        if name.is_empty() {
            out.push(prefix);
            return rest;
        }
        let mut path = prefix;
        match name {
            "self" => {}
            "super" => {
                path.pop();
            }
            _ => path.push(name.to_string()),
        }
        match after.strip_prefix("::") {
            Some(more) => tree(path, more, out),
            None => {
                out.push(path);
                after
            }
        }
    }
    let mut out = Vec::new();
    let parent: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
    let roots: [(&str, Vec<String>); 3] = [
        ("crate::", vec![]),
        ("quotaline::", vec![]),
        ("super::", parent),
    ];
    for (marker, base) in roots {
        let mut at = 0;
        while let Some(found) = code[at..].find(marker) {
            let start = at + found;
            at = start + marker.len();
            // `foo_crate::` or `self.super::` are not this marker.
            let before = code[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            tree(base.clone(), &code[at..], &mut out);
        }
    }
    out
}

/// The floors of `lib.rs`'s table: `(floor number, floor name, entries)`.
fn floors(lib: &str) -> Vec<(usize, String, Vec<String>)> {
    lib.lines()
        .filter_map(|l| {
            let l = l.strip_prefix("//! ")?;
            let (n, rest) = l.split_once(". ")?;
            let n: usize = n.parse().ok()?;
            let (name, entries) = rest.split_once(": ")?;
            Some((
                n,
                name.to_string(),
                entries.split_whitespace().map(str::to_string).collect(),
            ))
        })
        .collect()
}

/// A file's floor: its own name (`cache` for `cache.rs`) or its directory (`render/`).
fn floor_of(file: &str, table: &[(usize, String, Vec<String>)]) -> Option<(usize, String)> {
    let stem = file.strip_suffix(".rs").unwrap();
    table.iter().find_map(|(n, name, entries)| {
        entries
            .iter()
            .any(|e| match e.strip_suffix('/') {
                Some(dir) => file.starts_with(&format!("{dir}/")),
                None => stem == e,
            })
            .then(|| (*n, name.clone()))
    })
}

/// Which file each file imports from, by resolving each named path to the longest module
/// prefix that is a file of `files`.
fn graph(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let by_module: BTreeMap<Vec<String>, String> = files
        .keys()
        .filter(|f| f.as_str() != "main.rs")
        .map(|f| (module_of(f), f.clone()))
        .collect();
    files
        .iter()
        .map(|(file, text)| {
            let module = if file == "main.rs" {
                vec![]
            } else {
                module_of(file)
            };
            let targets = paths_named(&module, &code_of(text))
                .into_iter()
                .filter_map(|path| {
                    (0..=path.len())
                        .rev()
                        .find_map(|k| by_module.get(&path[..k]).cloned())
                })
                .filter(|t| t != file && t != "lib.rs")
                .collect();
            (file.clone(), targets)
        })
        .collect()
}

/// A cycle through the graph, as the files in order, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == node) {
            let mut loop_ = stack[i..].to_vec();
            loop_.push(node.to_string());
            return Some(loop_);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, stack) {
                return Some(found);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

/// Every problem with `files` against the table in their `lib.rs`.
fn problems(files: &BTreeMap<String, String>) -> Vec<String> {
    let table = floors(&files["lib.rs"]);
    let graph = graph(files);
    let mut out = Vec::new();
    for (file, targets) in &graph {
        let Some((floor, name)) = floor_of(file, &table) else {
            out.push(format!("{file} is on no floor of lib.rs's table"));
            continue;
        };
        for target in targets {
            if let Some((to, to_name)) = floor_of(target, &table) {
                if to > floor {
                    out.push(format!(
                        "{file} ({name}) imports {target} ({to_name}), a higher floor"
                    ));
                }
            }
        }
    }
    if let Some(c) = cycle(&graph) {
        out.push(format!("a cycle: {}", c.join(" -> ")));
    }
    out
}

#[test]
fn every_file_imports_only_from_its_own_floor_or_below_and_nothing_loops() {
    let files = sources();
    assert!(
        floors(&files["lib.rs"]).len() >= 8,
        "lib.rs names its floors"
    );
    assert_eq!(problems(&files), Vec::<String>::new());
}

#[test]
fn the_check_finds_an_upward_import_and_a_loop() {
    let mut files = sources();
    let cache = files["cache.rs"].clone();
    files.insert(
        "cache.rs".into(),
        format!("use crate::events::Before;\n{cache}"),
    );
    let found = problems(&files);
    assert!(
        found.contains(&"cache.rs (storage) imports events.rs (logic), a higher floor".to_string()),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.starts_with("a cycle: ")),
        "events.rs imports cache.rs: {found:?}"
    );
    // A group import names every file in it; `super::` resolves from the file's module.
    let mut files = sources();
    let window = files["window.rs"].clone();
    files.insert(
        "window.rs".into(),
        format!("use crate::{{snapshot::Org, render::{{markup::Target, text}}}};\n{window}"),
    );
    let markup = files["render/markup.rs"].clone();
    files.insert(
        "render/markup.rs".into(),
        format!("use super::super::ingest::Arrival;\n{markup}"),
    );
    let found = problems(&files);
    for expected in [
        "window.rs (vocabulary) imports render/markup.rs (render), a higher floor",
        "window.rs (vocabulary) imports render/text.rs (render), a higher floor",
        "render/markup.rs (render) imports ingest.rs (orchestration), a higher floor",
    ] {
        assert!(
            found.contains(&expected.to_string()),
            "{expected}: {found:?}"
        );
    }
}

#[test]
fn the_cache_knows_no_credentials_events_renderers_notifications_or_settings() {
    let files = sources();
    let imports = &graph(&files)["cache.rs"];
    let foreign: Vec<&String> = imports
        .iter()
        .filter(|t| {
            t.starts_with("auth/")
                || t.starts_with("render/")
                || ["events.rs", "notify.rs", "settings.rs"].contains(&t.as_str())
        })
        .collect();
    assert_eq!(foreign, Vec::<&String>::new());
}

#[test]
fn nothing_under_render_writes_renames_or_creates_a_file() {
    let writes = [
        "fs::write",
        "write_atomic",
        "File::create",
        "OpenOptions",
        "fs::rename",
        "create_dir",
        "remove_file",
        "set_permissions",
        "DirBuilder",
        ".update(",
    ];
    let files = sources();
    let mut found = Vec::new();
    for (file, text) in files.iter().filter(|(f, _)| f.starts_with("render/")) {
        let code = code_of(text);
        for w in writes {
            if code.contains(w) {
                found.push(format!("{file}: {w}"));
            }
        }
    }
    assert_eq!(found, Vec::<String>::new());
}
