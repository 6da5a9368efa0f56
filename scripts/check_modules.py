#!/usr/bin/env python3
"""The module graph of every crate: no import cycle between files, and each stage of the shared
crate uses only the stages its crate documentation allows.

    python3 scripts/check_modules.py            # exit 1 and the offending paths when broken
    python3 scripts/check_modules.py --graph    # also print every file's imports

An edge A -> B means file A names an item of file B: in a `use` (brace groups expanded) or in a
path in code (`crate::lake::layout::slug(…)`, `super::Parsed`). Declaring a module (`mod x;`) is
not an edge. A name re-exported by a parent (`pub use …` in lib.rs or a mod.rs) resolves to the
parent's file, so importing through a re-export inside the crate shows up as what it is.

The layering rule is read from the table in shared/src/lib.rs (rows `| [`stage`] | … | may use |`),
so the documentation and the check cannot drift apart.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def strip_comments_and_strings(text: str) -> str:
    """Code without comments and string/char literal contents (paths in them are not imports)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            out.append('""')
            i = n if end < 0 else end + 1 + len(hashes)
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append('""')
            i += 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or (c == "'" and text.startswith("'\\u{", i)):
            end = text.find("'", i + 1 if text[i + 1] != "\\" else i + 2)
            out.append("' '")
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Crate:
    def __init__(self, name: str, root_file: Path):
        self.name = name
        self.root_file = root_file
        self.files: dict[tuple[str, ...], Path] = {}  # module path -> file
        self.inline: set[tuple[str, ...]] = set()  # inline modules (`mod tests { … }`)
        self._load(("crate",), root_file)

    def _load(self, module: tuple[str, ...], file: Path) -> None:
        self.files[module] = file
        code = strip_comments_and_strings(file.read_text())
        # `#[path = "x.rs"]` was stripped with the strings: read it from the raw text.
        raw = file.read_text()
        is_mod_rs = file.name in ("mod.rs", "lib.rs", "main.rs")
        directory = file.parent if is_mod_rs else file.parent / file.stem
        for match in re.finditer(r"^\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*([;{])", code, re.M):
            name, kind = match.group(1), match.group(2)
            child = module + (name,)
            if kind == "{":
                self.inline.add(child)
                continue
            path_attr = None
            line_start = raw.rfind("\n", 0, raw.find(f"mod {name};")) if f"mod {name};" in raw else -1
            before = raw[max(0, line_start - 200):line_start + 1] if line_start >= 0 else ""
            attr = re.findall(r'#\[path\s*=\s*"([^"]+)"\]\s*$', before.strip() + "\n", re.M)
            if attr:
                path_attr = file.parent / attr[-1]
            candidates = [path_attr] if path_attr else [directory / f"{name}.rs", directory / name / "mod.rs"]
            for candidate in candidates:
                if candidate and candidate.exists():
                    self._load(child, candidate)
                    break
            else:
                raise SystemExit(f"{file}: mod {name}: no file found ({candidates})")

    def module_of(self, file: Path) -> tuple[str, ...]:
        return next(m for m, f in self.files.items() if f == file)

    def resolve(self, current: tuple[str, ...], path: list[str]) -> tuple[str, ...] | None:
        """The module (file) a path names an item of; None for paths outside the crate."""
        if not path:
            return None
        if path[0] == "crate":
            absolute = ["crate"] + path[1:]
        elif path[0] in ("super", "self"):
            base = list(current)
            rest = list(path)
            while rest and rest[0] in ("super", "self"):
                if rest.pop(0) == "super":
                    base.pop()
            absolute = base + rest
        elif current + (path[0],) in self.files or current + (path[0],) in self.inline:
            absolute = list(current) + path  # a child module, in scope by its `mod`
        else:
            return None
        # The longest prefix that is a module with a file (inline modules belong to their file).
        for end in range(len(absolute), 0, -1):
            prefix = tuple(absolute[:end])
            if prefix in self.files:
                return prefix
        return None


def use_paths(tree: str, prefix: list[str]) -> list[list[str]]:
    """Expands a use tree (`a::{b, c::{d, e}}`) into its paths."""
    tree = tree.strip()
    if not tree:
        return []
    depth, split_at = 0, None
    for i, c in enumerate(tree):
        if c == "{":
            if depth == 0 and split_at is None:
                split_at = i
            depth += 1
        elif c == "}":
            depth -= 1
    if split_at is None:
        parts = [p.strip() for p in re.split(r"::", tree.split(" as ")[0]) if p.strip()]
        return [prefix + parts]
    head = [p for p in tree[:split_at].split("::") if p.strip()]
    inner = tree[split_at + 1:tree.rfind("}")]
    items, depth, start = [], 0, 0
    for i, c in enumerate(inner):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    out = []
    for item in items:
        item = item.strip()
        if item == "self":
            out.append(prefix + [h.strip() for h in head])
        elif item:
            out.extend(use_paths(item, prefix + [h.strip() for h in head]))
    return out


def references(code: str) -> list[tuple[int, list[str]]]:
    """(position, path) of every path that may lead into the crate."""
    paths = []
    for match in re.finditer(r"\buse\s+([^;]+);", code):
        paths.extend((match.start(), p) for p in use_paths(match.group(1), []))
    for match in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", code):
        paths.append((match.start(), match.group(1).split("::")))
    return paths


def inline_modules(code: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of every inline `mod name { … }` block."""
    found = []
    for match in re.finditer(r"\bmod\s+(\w+)\s*\{", code):
        depth, i = 1, match.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        found.append((match.start(), i, match.group(1)))
    return found


def inline_path(module: tuple[str, ...], inline: list[tuple[int, int, str]], at: int) -> tuple[str, ...]:
    """The module a position of the file is in: the file's, or an inline module inside it."""
    return module + tuple(name for start, end, name in sorted(inline) if start < at < end)


def edges(crate: Crate) -> dict[Path, set[Path]]:
    graph: dict[Path, set[Path]] = {f: set() for f in crate.files.values()}
    for module, file in crate.files.items():
        code = strip_comments_and_strings(file.read_text())
        # Names that stand for modules here: child modules (`mod x;`), and modules brought in by
        # `use` (`use crate::parse::formats;` makes `formats::json::…` a path into the crate).
        aliases: dict[str, list[str]] = {}
        for child in crate.files:
            if child[:-1] == module:
                aliases[child[-1]] = list(child)
        for match in re.finditer(r"\buse\s+([^;]+);", code):
            for path in use_paths(match.group(1), []):
                target = crate.resolve(module, path)
                if target is not None and target == tuple(absolute(module, path)):
                    aliases[path[-1]] = list(target)
        inline = inline_modules(code)
        paths = [(inline_path(module, inline, at), path) for at, path in references(code)]
        for match in re.finditer(r"(?<![\w:])(\w+)((?:::\w+)+)", code):
            head = match.group(1)
            if head in aliases and head not in ("crate", "super", "self"):
                paths.append((module, aliases[head] + match.group(2).split("::")[1:]))
        for here, path in paths:
            # `use super::*` in an inline `mod tests` names the file's own items.
            target = crate.resolve(here, path)
            if target is None:
                continue
            target_file = crate.files[target]
            if target_file != file:
                graph[file].add(target_file)
    return graph


def absolute(current: tuple[str, ...], path: list[str]) -> list[str]:
    if path[0] == "crate":
        return path
    base, rest = list(current), list(path)
    while rest and rest[0] in ("super", "self"):
        if rest.pop(0) == "super":
            base.pop()
    return base + rest


def cycles(graph: dict[Path, set[Path]]) -> list[list[Path]]:
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(v: Path) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_rule(lib_rs: Path) -> dict[str, set[str]]:
    """`| [`stage`] | … | `a`, `b` |` rows of the crate docs: what each top-level module may use."""
    rule = {}
    for line in lib_rs.read_text().splitlines():
        match = re.match(r"//!\s*\|\s*\[`(\w+)`\][^|]*\|.*\|\s*([^|]*)\|\s*$", line)
        if match:
            allowed = set(re.findall(r"`(\w+)`", match.group(2)))
            rule[match.group(1)] = allowed
    return rule


def crates() -> list[Crate]:
    found = [Crate("loglake (shared)", ROOT / "shared/src/lib.rs"), Crate("loglake-cli", ROOT / "cli/src/main.rs")]
    for manifest in sorted(ROOT.glob("*/Cargo.toml")) + sorted(ROOT.glob("functions/*/Cargo.toml")):
        src = manifest.parent / "src"
        if manifest.parent.name in ("shared", "cli"):
            continue
        for root in ("lib.rs", "main.rs"):
            if (src / root).exists():
                found.append(Crate(f"{manifest.parent.relative_to(ROOT)} ({root})", src / root))
    return found


def main() -> int:
    problems = []
    show_graph = "--graph" in sys.argv
    for crate in crates():
        graph = edges(crate)
        if show_graph:
            print(f"# {crate.name}")
            for file in sorted(graph):
                targets = ", ".join(str(t.relative_to(ROOT)) for t in sorted(graph[file]))
                print(f"{file.relative_to(ROOT)} -> {targets}")
        for component in cycles(graph):
            names = " <-> ".join(str(f.relative_to(ROOT)) for f in component)
            problems.append(f"{crate.name}: import cycle between {names}")

    shared = crates()[0]
    rule = layer_rule(shared.root_file)
    if not rule:
        problems.append("shared/src/lib.rs: no layering table (| [`stage`] | … | may use |) found")
    graph = edges(shared)
    top = {f: m[1] for m, f in shared.files.items() if len(m) > 1}
    for module in {m[1] for m in shared.files if len(m) > 1}:
        if module not in rule:
            problems.append(f"shared/src: module `{module}` is not in the layering table of lib.rs")
    for file, targets in graph.items():
        source = top.get(file)
        if source is None or source not in rule:
            continue
        for target in targets:
            dest = top.get(target)
            if dest is None:
                problems.append(f"{file.relative_to(ROOT)} uses the crate root (lib.rs): import from the defining module")
            elif dest == "testing":
                continue  # test helpers: the feature and cfg(test) keep them out of every binary
            elif dest != source and dest not in rule[source]:
                problems.append(
                    f"{file.relative_to(ROOT)} uses `{dest}` ({target.relative_to(ROOT)}), "
                    f"but `{source}` may use only: {', '.join(sorted(rule[source])) or 'nothing'}"
                )
    for problem in problems:
        print(problem)
    files = sum(len(c.files) for c in crates())
    print(f"module graph: {len(crates())} crates, {files} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
