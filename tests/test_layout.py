"""The tree reads as the architecture: dependencies point one way, no module imports in a
cycle, and the Python client stands alone (read from the source with `ast`, so a lazy import
inside a function counts too)."""

import ast
import re

from tests.conftest import ROOT

# A package may import only the packages after it in this order.
LAYERS = [
    "service.measure",
    "service.api",
    "service.components",
    "service.answering",
    "index",
]
# Settings (and the keys they parse) and the metrics are read or recorded by every layer.
SHARED = {"service.settings", "service.keys", "service.metrics"}


# Each package's folder: the client is a distribution of its own (clients/python).
PACKAGES = {
    "index": ROOT,
    "service": ROOT,
    "newsrag_client": ROOT / "clients" / "python",
}


def imports() -> dict[str, set[str]]:
    """Every module of `index`, `service` and the client with the project modules it imports."""
    graph: dict[str, set[str]] = {}
    packages = tuple(PACKAGES)
    files = [(p, base) for name, base in PACKAGES.items() for p in base.glob(f"{name}/**/*.py")]
    for path, base in sorted(files):
        module = ".".join(path.relative_to(base).with_suffix("").parts).removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[module] = {m for m in found if m.split(".")[0] in packages}
    return {m: {d for d in deps if d in graph} for m, deps in graph.items()}


def layer(module: str) -> int | None:
    return next(
        (i for i, p in enumerate(LAYERS) if module == p or module.startswith(p + ".")), None
    )


def test_layout_dependencies_point_one_way() -> None:
    wrong = [
        f"{module} imports {dep}"
        for module, deps in imports().items()
        for dep in deps
        if dep not in SHARED
        and (mine := layer(module)) is not None
        and (theirs := layer(dep)) is not None
        and theirs < mine
    ]
    assert not wrong, wrong


def test_layout_index_never_imports_service() -> None:
    graph = imports()
    assert not [
        (m, d)
        for m, deps in graph.items()
        if m.startswith("index")
        for d in deps
        if d.startswith("service")
    ]


def test_layout_client_imports_nothing_of_the_server() -> None:
    graph = imports()
    assert not [
        (m, d)
        for m, deps in graph.items()
        if m.startswith("newsrag_client")
        for d in deps
        if not d.startswith("newsrag_client")
    ]


def test_layout_no_import_cycles() -> None:
    graph = imports()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # A package's __init__ is imported with its modules; only module-to-module cycles count.
    assert not [c for c in cycles if len(c) > 2 or c[0] != c[-1]], cycles


def test_layout_settings_read_once_never_handed_through_the_environment() -> None:
    """Every setting (HOST, PORT and WORKERS included) is read by the settings class and
    passed on: no module reads one from os.environ, or writes one there for its workers (a
    child process started with an environment of its own is another matter)."""
    pattern = re.compile(r'environ(\.get\(|\[)\s*"(RAG_|HOST"|PORT"|WORKERS")')
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for name in ("index", "service")
        for path in sorted((ROOT / name).glob("**/*.py"))
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found, found


STORAGE = ("index.write", "index.chunk", "index.chroma")


def test_layout_answering_reads_plain_passages_not_storage() -> None:
    """Answering is handed plain passages and arrays (`index.passages`, `index.vectors`):
    it never reaches into how chunks are split, written or stored."""
    wrong = [
        f"{module} imports {dep}"
        for module, deps in imports().items()
        if module.startswith("service.answering")
        for dep in deps
        if dep.startswith(STORAGE)
    ]
    assert not wrong, wrong


def test_layout_passage_types_import_no_storage_library() -> None:
    source = (ROOT / "index" / "passages.py").read_text(encoding="utf-8")
    found = {
        name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [a.name for a in node.names]
        )
    }
    assert not [n for n in found if n.split(".")[0] in ("chromadb", "index")], found


MAX_LINES = 400


def test_layout_no_module_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for name in ("index", "service")
        for path in sorted((ROOT / name).glob("**/*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long
