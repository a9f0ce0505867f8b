"""The architecture rules, checked on the source tree.

- ``crm_core`` (every rule and all storage) never imports Streamlit, and ``pages/`` and ``app.py``
  contain no SQL; only ``crm_core/database.py`` connects.
- Layers: ``crm_core`` < ``jobs`` (the jobs process and the ``crm`` command) < ``pages`` <
  ``app.py``; a module imports only from its own layer or below.  Tests and the bench sit on top,
  and import shared helpers from helper modules, never from a test module or ``conftest``.
- No import cycles, counting imports inside functions too (they still tie modules together); only
  ``if TYPE_CHECKING:`` imports are left out, since they never run.
- What is installed and run (the packages ``pyproject.toml`` installs, ``pages/``, ``app.py``)
  imports only the Python standard library, itself and the dependencies ``pyproject.toml``
  declares: a build-time tool that needs other packages cannot slip into the runtime package.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.paths import ROOT

SQL = re.compile(r"\b(SELECT|INSERT INTO|DELETE FROM)\b|UPDATE [a-z_]+ SET|duckdb")
PROJECT = ("crm_core", "jobs", "pages", "tests", "bench", "app")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LAYERS = {"crm_core": 0, "jobs": 1, "pages": 2, "app": 3, "tests": 4, "bench": 4}


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {"app": ROOT / "app.py"}
    for folder in PROJECT[:-1]:
        found.update({module_name(p): p for p in python_files(folder)})
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_names(path: Path) -> list[str]:
    """Every module name an ``import`` of this file names (at any depth, also inside functions),
    with ``from package import module`` resolved to the module."""
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.append(submodule if submodule in modules() else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return names


def project_imports(path: Path) -> set[str]:
    return {n for n in imported_names(path) if n in modules()}


def import_graph() -> dict[str, set[str]]:
    return {name: project_imports(path) - {name} for name, path in modules().items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            top = target.split(".")[0]
            if layer(target) > layer(module):
                wrong.append(f"{module} imports {target} (a higher layer)")
            elif top in ("tests", "bench") and module.split(".")[0] not in ("tests", "bench"):
                wrong.append(f"{module} imports {target}")
            elif re.match(r"tests\.(test_|conftest$)", target):
                wrong.append(f"{module} imports {target}: move the helper into a helper module")
    return wrong


def test_crm_core_never_imports_streamlit():
    offenders = [
        module
        for module, path in modules().items()
        if module.startswith("crm_core")
        and any(n.split(".")[0] == "streamlit" for n in imported_names(path))
    ]
    assert offenders == []


def test_pages_and_app_contain_no_sql():
    files = [*python_files("pages"), ROOT / "app.py"]
    assert files
    offenders = [f.name for f in files if SQL.search(f.read_text())]
    assert offenders == []


def test_only_database_module_connects():
    connecting = [
        f.relative_to(ROOT).as_posix()
        for folder in ("crm_core", "pages", "jobs")
        for f in python_files(folder)
        if "duckdb.connect" in f.read_text()
    ]
    assert connecting == ["crm_core/database.py"]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_each_layer_imports_only_its_own_or_lower_ones():
    assert layer_violations(import_graph()) == []


def test_the_checks_see_what_they_look_for():
    """The cycle and layer checks find a planted cycle and a planted upward import."""
    graph = import_graph()
    assert "crm_core.database" in graph["crm_core.contacts"]  # the graph is real
    assert "crm_core.geo.routing" in graph["tests.test_routing"]  # from package import module
    planted = {**graph, "crm_core.database": graph["crm_core.database"] | {"crm_core.contacts"}}
    assert ["crm_core.contacts", "crm_core.database"] in [
        [m for m in c if m in ("crm_core.contacts", "crm_core.database")] for c in cycles(planted)
    ]
    upward = {**graph, "crm_core.leads": graph["crm_core.leads"] | {"pages._ui", "jobs.cli"}}
    assert len(layer_violations(upward)) == 2
    from_test = {**graph, "bench.run": graph["bench.run"] | {"tests.test_pages"}}
    assert layer_violations(from_test) == [
        "bench.run imports tests.test_pages: move the helper into a helper module"
    ]


def _distribution(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_modules() -> dict[str, Path]:
    """What runs in production: the modules of the installed packages, the pages and app.py."""
    installed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    return {
        module: path
        for module, path in modules().items()
        if module == "app"
        or module.startswith("pages.")
        or (module if path.name == "__init__.py" else module.rpartition(".")[0]) in installed
    }


def test_runtime_code_imports_only_declared_dependencies():
    dependencies = PYPROJECT["project"]["dependencies"]
    declared = {_distribution(re.split(r"[<>=!~;\[ ]", d)[0]) for d in dependencies}
    providers = packages_distributions()
    undeclared = set()
    runtime = runtime_modules()
    assert "crm_core.geo.routing" in runtime and "app" in runtime
    assert "crm_core.geo.data.build_dach_geo" not in runtime  # build time only
    for module, path in runtime.items():
        for name in imported_names(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in PROJECT or top == "__future__":
                continue
            dists = {_distribution(d) for d in providers.get(top, [top])}
            if not dists & declared:
                undeclared.add(f"{module} imports {name}")
    assert sorted(undeclared) == []
