"""Imports run downward: an app imports only the apps below it. allocadence/ is the top layer: it speaks to
Allocadence for jobs and purchasing, which write their own outbox rows (OrderPush, PurchaseOrderPush) and name
its tasks as strings (core.enqueue) instead of importing it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# app → the apps it must never import (the layers above it)
ABOVE = {
    "core": {"inventory", "jobs", "bom", "purchasing", "channels", "imports", "allocadence"},
    # (inventory's part page shows Can build from bom.selectors: a page composing a read, not a write upward)
    "inventory": {"jobs", "purchasing", "channels", "allocadence"},
    "jobs": {"allocadence"},
    "purchasing": {"allocadence"},
    "channels": {"allocadence"},
}


def imported_apps(path: Path) -> set[str]:
    apps = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            apps.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            apps.update(alias.name.split(".")[0] for alias in node.names)
    return apps


@pytest.mark.parametrize("app", sorted(ABOVE))
def test_app_imports_no_layer_above_it(app):
    upward = {
        f"{path.relative_to(ROOT)} imports {above}"
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
        for above in imported_apps(path) & ABOVE[app]
    }
    assert sorted(upward) == []
