//! The simulator's layering, read from its source: no module imports one that imports it back,
//! directly or through others. (`sim`, `oauth`, `gateway`, `telegram`, `judge`, `hooks` and
//! `updates` once did, so a change to one meant reading all seven.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module's `crate::` imports (submodules count as their module; unit tests and
/// the crate root are left out).
type Imports = BTreeMap<String, BTreeSet<String>>;

fn imports() -> Imports {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut imports = Imports::new();
    read_dir(&src, &src, &mut imports);
    imports
}

fn read_dir(src: &Path, dir: &Path, imports: &mut Imports) {
    for entry in std::fs::read_dir(dir).expect("the source folder is readable") {
        let path = entry.expect("a folder entry").path();
        let relative = path.strip_prefix(src).expect("below src");
        let Some(top) = relative.components().next().and_then(|c| c.as_os_str().to_str()) else { continue };
        let module = top.trim_end_matches(".rs").to_owned();
        if matches!(module.as_str(), "lib" | "tests") {
            continue;
        }
        if path.is_dir() {
            read_dir(src, &path, imports);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a source file is readable");
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        let named = imports.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group[..group.find('}').unwrap_or(group.len())]
                    .split(',')
                    .map(|name| name.trim().split("::").next().unwrap_or_default())
                    .collect(),
                None => vec![&rest[..rest.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(rest.len())]],
            };
            named.extend(names.into_iter().filter(|n| !n.is_empty()).map(str::to_owned));
        }
        named.remove(&module);
    }
}

/// A circle of modules importing each other, if there is one: `[a, b, …, a]`.
fn circle(imports: &Imports) -> Option<Vec<String>> {
    fn visit<'a>(
        module: &'a str,
        imports: &'a Imports,
        path: &mut Vec<&'a str>,
        cleared: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| *m == module) {
            let mut circle: Vec<String> = path[start..].iter().map(|m| (*m).to_owned()).collect();
            circle.push(module.to_owned());
            return Some(circle);
        }
        if cleared.contains(module) {
            return None;
        }
        path.push(module);
        for next in imports.get(module).into_iter().flatten() {
            if imports.contains_key(next)
                && let Some(circle) = visit(next, imports, path, cleared)
            {
                return Some(circle);
            }
        }
        path.pop();
        cleared.insert(module);
        None
    }
    let mut cleared = BTreeSet::new();
    imports.keys().find_map(|module| visit(module, imports, &mut Vec::new(), &mut cleared))
}

#[test]
fn no_simulator_module_imports_one_that_imports_it_back() {
    let imports = imports();
    // The reader sees both spellings: `crate::{oauth, telegram}` and `crate::http::Reply`.
    assert!(imports["gateway"].contains("oauth") && imports["gateway"].contains("telegram"), "{imports:?}");
    assert!(imports["oauth"].contains("http"), "{imports:?}");
    if let Some(circle) = circle(&imports) {
        panic!("these modules import each other in a circle: {}", circle.join(" → "));
    }
}
