"""The layout's rules, checked over the whole package: small modules, no import cycles, a sans-IO codec.

Why: the folder tree is meant to show the architecture (bytes -> codec -> protocol -> controller ->
front ends), and these are the rules that keep it showing: a module has one job (so none grows
past 500 lines), a layer never imports one that imports it back (not even lazily, inside a
function), and the codec runs without Twisted.  They erode one change at a time unless checked.
"""

from __future__ import annotations

import ast
import pathlib
import unittest

import cpppo

ROOT = pathlib.Path(cpppo.__file__).parent
MAX_LINES = 500


def modules() -> dict[str, pathlib.Path]:
    """Every module of the package but its tests, by dotted name."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if "tests" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: pathlib.Path, known: dict[str, pathlib.Path]) -> set[str]:
    """The package's modules that *name* imports anywhere in its text (lazy imports included).

    ``from P import x`` depends on ``P.x`` when that is a module, else on ``P``; a module's own
    ancestor packages are left out (they are being imported already when it runs).
    """
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            base = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return {t for t in found if t in known and t != name and t not in ancestors}


def cycles() -> list[list[str]]:
    """Each import cycle among the package's modules, as the path that closes it."""
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    found, done = [], set()

    def visit(node: str, stack: list[str], on_stack: set[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in on_stack:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in done:
                on_stack.add(nxt)
                visit(nxt, stack + [nxt], on_stack)
                on_stack.discard(nxt)
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start], {start})
    return found


class TestLayout(unittest.TestCase):
    def test_no_module_over_500_lines(self) -> None:
        long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
        self.assertEqual(long, {})

    def test_no_import_cycles(self) -> None:
        self.assertEqual(cycles(), [])

    def test_codec_imports_no_twisted(self) -> None:
        for name, path in modules().items():
            if name.startswith("cpppo.enip.codec"):
                text = path.read_text()
                self.assertNotIn("import twisted", text, name)
                self.assertNotIn("from twisted", text, name)
