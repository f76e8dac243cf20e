"""The house rules that ruff and mypy do not check (the layers are `lint-imports`)."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "blinasim"
MODULES = sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)
# Function-level imports of the package are allowed only with a reason written beside them
# (a heavy optional dependency such as Dask is imported where it is used).
ALLOWED_LATE = {"blinasim/parallel.py"}
MAX_LINES = 530  # "no module over ~500 lines"


def _late_package_imports(tree: ast.Module) -> list[int]:
    late = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom) and (sub.module or "").startswith("blinasim"):
                    late.append(sub.lineno)
                if isinstance(sub, ast.Import) and any(
                    a.name.startswith("blinasim") for a in sub.names
                ):
                    late.append(sub.lineno)
    return late


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC.parent)))
def test_no_function_level_imports_of_the_package(path):
    rel = str(path.relative_to(SRC.parent))
    late = _late_package_imports(ast.parse(path.read_text(encoding="utf-8")))
    if rel not in ALLOWED_LATE:
        assert not late, f"{rel}: function-level imports of blinasim at lines {late}"


def test_no_module_over_the_size_limit():
    big = {
        str(p.relative_to(SRC.parent)): n
        for p in MODULES
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not big, big


def test_no_import_cycles():
    """Module-level imports between blinasim modules form no cycle."""
    graph: dict[str, set[str]] = {}
    names = {".".join(p.relative_to(SRC.parent).with_suffix("").parts) for p in MODULES}
    names = {n.removesuffix(".__init__") for n in names}
    for p in MODULES:
        mod = ".".join(p.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
        deps: set[str] = set()
        for node in ast.parse(p.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("blinasim"):
                    for a in node.names:
                        cand = f"{node.module}.{a.name}"
                        deps.add(cand if cand in names else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in names)
        graph[mod] = {d for d in deps if d in names and d != mod}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            # a package's __init__ re-exporting its own modules is not a cycle
            if n.startswith(d + ".") or d.startswith(n + "."):
                continue
            if state.get(d) == 1:
                raise AssertionError(" -> ".join([*stack[stack.index(d) :], d]))
            if d not in state:
                visit(d)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
