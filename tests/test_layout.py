"""The layout's rules (docs/architecture.md), checked on the source: data flows one way, no import
cycles, each chat framework is imported only by its own front end, and the lower rooms stay free of
the libraries they must not need."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", "tests", "space", "bench", "build", "docs"}

# Each room, and the rooms below it that it may import. The bottom modules at the root import only
# each other; a room may always import itself.
BOTTOM = {"errors", "aspects", "phrases", "server_numbers", "redaction", "reasons", "lazy_regex"}
MAY_IMPORT = {
    "config": BOTTOM,
    "prompt": BOTTOM,
    "imaging": BOTTOM | {"config"},
    "backends": BOTTOM | {"config", "imaging"},
    "hub": BOTTOM | {"config", "imaging", "backends"},
    "drawing": BOTTOM | {"config", "prompt", "imaging", "backends", "hub"},
    "frontends": BOTTOM | {"config", "prompt", "imaging", "backends", "hub", "drawing"},
}
ENTRY_POINTS = {"plugin", "__main__", "__init__", "main"}  # MaiBot's plugin.py, `python -m`, AstrBot's main.py
# Third-party packages and the only rooms (or root files) that may import them.
FRAMEWORKS = {
    "maibot_sdk": {"frontends/maibot", "plugin.py"},
    "nonebot": {"frontends/nonebot", "nonebot_plugin_llm2pic"},
    "astrbot": {"frontends/astrbot", "main.py"},
}
STDLIB_ONLY_EXCEPT = {  # room → third-party imports it may have
    "prompt": set(),
    "imaging": {"PIL"},
    "config": {"pydantic", "pydantic_core", "tomlkit", "tomli_w"},
}



def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if SKIP & set(rel.parts) or any(part.endswith(".egg-info") for part in rel.parts):
            continue
        name = ".".join(rel.with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """(project modules, third-party top-level packages) that a module imports anywhere in it."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    ours, theirs = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)]
            target = ".".join(base + (node.module.split(".") if node.module else []))
            ours.add(target)
            if not node.module:  # `from . import x`: x may be a module
                ours.update(f"{target}.{alias.name}".lstrip(".") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            theirs.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            theirs.update(alias.name.split(".")[0] for alias in node.names)
    return ours, theirs


def room(name: str) -> str:
    return name.split(".")[0]


GRAPH = {name: imports(name, path) for name, path in modules().items()}


def test_data_flows_one_way_between_rooms():
    wrong = set()
    for name, (ours, _) in GRAPH.items():
        source = room(name)
        if source in ENTRY_POINTS and "." not in name:
            continue
        allowed = BOTTOM if source in BOTTOM else MAY_IMPORT.get(source)
        assert allowed is not None, f"{name}: a room the layout does not know (add it to docs/architecture.md)"
        for target in ours:
            if target and room(target) != source and room(target) not in allowed:
                wrong.add(f"{name} → {target}")
    assert not wrong, sorted(wrong)


def test_no_import_cycles():
    known = {name for name in GRAPH}
    edges = {name: {t for t in ours if t in known and t != name} for name, (ours, _) in GRAPH.items()}
    # a module importing `pkg.x` also runs `pkg/__init__`, which never imports back here by design
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target):] + [target] if target in trail else [node, target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles


@pytest.mark.parametrize("package", sorted(FRAMEWORKS))
def test_each_framework_is_imported_only_by_its_front_end(package):
    owners = FRAMEWORKS[package]
    offenders = []
    for name, (_, theirs) in GRAPH.items():
        path = str(modules()[name].relative_to(ROOT))
        if package in theirs and not any(path == owner or path.startswith(owner + "/") for owner in owners):
            offenders.append(path)
    assert not offenders, offenders


@pytest.mark.parametrize("source", sorted(STDLIB_ONLY_EXCEPT))
def test_lower_rooms_need_no_network_or_framework_library(source):
    import sys

    allowed = STDLIB_ONLY_EXCEPT[source] | set(sys.stdlib_module_names) | {"__future__"}
    extra = {f"{name}: {package}" for name, (_, theirs) in GRAPH.items() if room(name) == source
             for package in theirs - allowed}
    assert not extra, sorted(extra)
