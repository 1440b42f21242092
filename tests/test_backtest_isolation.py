"""The backtest's policies see nothing but their own database up to the night before.

Static half: only the accounting (and the oracle, the perfect-information ceiling) may
read the simulator's truth; the policies and their queries never import the simulator.
The dynamic half (rows from the future planted in a branch database change no
decision) is in tests/test_backtest_loop.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKTEST = ROOT / "backtest"
# The truth: the simulator's truth schema or module, the day records' truth fields, the
# simulator's hidden state.
_TRUTH = re.compile(r"\btruth\s*\.|gateways\.truth|\.failures\b|\.truth\b|\.state\b|"
                    r"\brisk30\b|schema\s*=\s*['\"]truth", re.IGNORECASE)
ALLOWED_TRUTH = {"accounting.py", "oracle.py"}
# What decides: these modules may import nothing from the simulator side at all.
POLICY_MODULES = ("policies.py", "queries.py", "stock.py")


def _code(path: Path) -> str:
    """Source without docstrings and comments (prose may name the truth)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body[0] = ast.Pass()
    return ast.unparse(tree)


def test_only_the_accounting_reads_the_truth() -> None:
    # A module's statements sit in backtest/sql/<module>.sql: scanned as that module.
    sources = sorted([*BACKTEST.glob("*.py"), *BACKTEST.glob("sql/*.sql")])
    offenders = [str(p.relative_to(BACKTEST)) for p in sources
                 if p.with_suffix(".py").name not in ALLOWED_TRUTH
                 and _TRUTH.search(p.read_text(encoding="utf-8") if p.suffix == ".sql"
                                   else _code(p))]
    assert not offenders, f"backtest modules touching the simulator's truth: {offenders}"


def test_policies_never_import_the_simulator() -> None:
    for name in POLICY_MODULES:
        tree = ast.parse((BACKTEST / name).read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
        bad = sorted(m for m in imported if m.startswith(("gateways", "backtest.accounting",
                                                          "backtest.oracle", "backtest.loop",
                                                          "backtest.publish")))
        assert not bad, f"{name} imports {bad}"


def test_the_scan_catches_a_truth_read(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text('"""Mentions truth. in prose only."""\n\ndef f(rec):\n'
                     '    return rec.truth["risk30"]\n', encoding="utf-8")
    clean = tmp_path / "clean.py"
    clean.write_text('"""The truth.schema is named in prose only."""\n', encoding="utf-8")
    assert _TRUTH.search(_code(leaky))
    assert not _TRUTH.search(_code(clean))
