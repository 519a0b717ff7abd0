"""The structure ARCHITECTURE.md describes: one-way layers, settings declared once."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from scrapy.settings import BaseSettings

from crawler.default_settings import declared_defaults, parknews_settings

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for package in ("crawler", "pipelines") for p in (REPO / package).rglob("*.py"))


def test_imports_follow_the_layers() -> None:
    """The import contracts of pyproject.toml: no module imports from a layer above its own,
    and the modules of a package import each other without cycles."""
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(linter), "--no-cache", "--config", "pyproject.toml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def functions_importing_project_code() -> list[str]:
    """Places where a function imports parknews code (an import hidden from the layers)."""
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                module = inner.module if isinstance(inner, ast.ImportFrom) else None
                if module and module.split(".")[0] in ("crawler", "pipelines"):
                    found.append(f"{path.relative_to(REPO)}:{inner.lineno}")
    return found


def test_no_function_imports_project_code() -> None:
    assert functions_importing_project_code() == []


SETTING_NAME = re.compile(r"""["'](PARKNEWS_[A-Z0-9_]+)["']""")


def settings_named_in_code() -> dict[str, list[str]]:
    """Every PARKNEWS_* name the code reads, with where."""
    named: dict[str, list[str]] = {}
    for path in SOURCES:
        if path.name == "default_settings.py":
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            for name in SETTING_NAME.findall(line):
                named.setdefault(name, []).append(f"{path.relative_to(REPO)}:{number}")
    return named


def test_every_setting_the_code_reads_is_declared_with_a_default() -> None:
    undeclared = {
        name: places
        for name, places in settings_named_in_code().items()
        if name not in declared_defaults()
    }
    assert undeclared == {}


REPEATED_DEFAULT = re.compile(r"""\.get\w*\(\s*["']PARKNEWS_[A-Z0-9_]+["']\s*,""")


def test_no_component_repeats_a_default() -> None:
    """Settings are read through parknews_settings(), which knows every default."""
    repeated = [
        f"{path.relative_to(REPO)}:{number}"
        for path in SOURCES
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if REPEATED_DEFAULT.search(line)
    ]
    assert repeated == []


def undocumented_settings() -> list[str]:
    """Declared settings with no docstring right after their declaration."""
    body = ast.parse((REPO / "crawler" / "default_settings.py").read_text("utf-8")).body
    missing = []
    for statement, following in zip(body, [*body[1:], None], strict=True):
        if isinstance(statement, ast.Assign):
            target = statement.targets[0]
        elif isinstance(statement, ast.AnnAssign):
            target = statement.target
        else:
            continue
        if not (isinstance(target, ast.Name) and target.id.startswith("PARKNEWS_")):
            continue
        documented = (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        )
        if not documented:
            missing.append(target.id)
    return missing


def test_every_declared_setting_says_what_it_does() -> None:
    assert undocumented_settings() == []


def test_every_declared_setting_is_read_somewhere() -> None:
    code = "\n".join(p.read_text("utf-8") for p in SOURCES if p.name != "default_settings.py")
    unread = [name for name in declared_defaults() if not re.search(rf"\b{name}\b", code)]
    assert unread == []


def test_a_setting_left_unset_takes_its_declared_default() -> None:
    given = BaseSettings({"PARKNEWS_DEDUP_THRESHOLD": "0.8"}, priority="cmdline")
    settings = parknews_settings(given)
    assert settings.getfloat("PARKNEWS_DEDUP_THRESHOLD") == 0.8
    assert settings.getint("PARKNEWS_OUTPUT_BATCH_ITEMS") == 100
    assert settings.getbool("PARKNEWS_STATE_ENABLED") is True
