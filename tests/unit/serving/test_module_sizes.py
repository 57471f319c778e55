"""serving/ stays readable: `app.py` only mounts the domains, and no function grows past a page."""

from __future__ import annotations

import ast
from pathlib import Path

SERVING = Path(__file__).resolve().parents[3] / "serving"
LONGEST_FUNCTION = 100
LONGEST_APP = 150


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_no_function_in_serving_is_over_100_lines() -> None:
    too_long = []
    for path in sorted(SERVING.rglob("*.py")):
        for fn in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
            lines = (fn.end_lineno or fn.lineno) - first + 1
            if lines > LONGEST_FUNCTION:
                too_long.append(f"{path.relative_to(SERVING)}:{fn.lineno} {fn.name}: {lines} lines")
    assert not too_long, "split these (a service, a helper):\n" + "\n".join(too_long)


def test_app_module_stays_under_150_lines() -> None:
    lines = len((SERVING / "app.py").read_text(encoding="utf-8").splitlines())
    assert lines < LONGEST_APP, f"serving/app.py has {lines} lines: put the logic in a domain"
