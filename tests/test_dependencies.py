"""Runtime dependencies are declared exactly: every distribution that assistant/, ingest/, common/ or app.py
imports is declared in pyproject.toml, and every declared one is imported. The chat channels may use the ``bots``
extra, the evaluation baselines the ``baselines`` extra; everything else must be a core dependency."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement

from common.settings import PROJECT_ROOT

FIRST_PARTY = {"assistant", "ingest", "common", "app"}
# files allowed to import an extra's distributions
EXTRA_USERS = {"bots": ("assistant/channels/",), "baselines": ("assistant/evaluation.py",)}
# declared but never imported by our code, and why
NOT_IMPORTED = {"pycryptodome": "wechatpy's message-crypto backend"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, set[str]]:
    """section ('core' or an extra) -> normalised distribution names."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    sections = {"core": project["dependencies"], **project.get("optional-dependencies", {})}
    return {name: {norm(Requirement(r).name) for r in reqs} for name, reqs in sections.items()}


def imported() -> dict[str, set[str]]:
    """normalised distribution name -> the runtime files (relative paths) that import it."""
    distributions = packages_distributions()
    files = [
        PROJECT_ROOT / "app.py",
        *[p for d in ("assistant", "ingest", "common") for p in sorted((PROJECT_ROOT / d).rglob("*.py"))],
    ]
    out: dict[str, set[str]] = {}
    for path in files:
        rel = path.relative_to(PROJECT_ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in FIRST_PARTY or top == "__future__":
                    continue
                assert top in distributions, f"{rel} imports {top!r}, which no installed distribution provides"
                for dist in distributions[top]:
                    out.setdefault(norm(dist), set()).add(rel)
    return out


def test_used_means_declared_in_the_right_place():
    sections, uses = declared(), imported()
    for dist, files in sorted(uses.items()):
        if dist in sections["core"]:
            continue
        extras = [name for name, users in EXTRA_USERS.items() if dist in sections.get(name, set())]
        assert extras, f"{dist} is imported by {sorted(files)} but not declared in pyproject.toml"
        allowed = tuple(prefix for name in extras for prefix in EXTRA_USERS[name])
        outside = sorted(f for f in files if not f.startswith(allowed))
        assert not outside, f"{dist} is only in the extra(s) {extras} but {outside} import it: make it a dependency"


def test_declared_means_used():
    sections, uses = declared(), imported()
    for section in ("core", *EXTRA_USERS):
        unused = sorted(d for d in sections.get(section, set()) if d not in uses and d not in NOT_IMPORTED)
        assert not unused, f"declared in {section} but imported nowhere: {unused}"
