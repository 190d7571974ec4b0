"""Installs reproduce: no requirement or constraint names a local file, a machine's path or a URL.

The last release pinned llama-cpp-python to a wheel under /tmp that existed only on the machine that
wrote the constraint, so `make run` could not install anywhere else. Every requirement must be a
name with a version, resolvable from the package index.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LOCAL = re.compile(r"file:|@\s*\S|://|^\s*[./~]|\\|/tmp/|/home/|/root/|/Users/|[A-Za-z]:\\", re.IGNORECASE)
_VERSION = r"[<>=!~]=?[^,;\s]+"
_REQUIREMENT = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*({_VERSION}(,\s*{_VERSION})*)?$")


def _requirement_lines() -> list[tuple[str, str]]:
    """(where, requirement) for every requirement the project declares or constrains."""
    found: list[tuple[str, str]] = []
    for file in [ROOT / "constraints.txt", *ROOT.glob("requirements*.txt")]:
        for line in file.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                found.append((file.name, line))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found += [("pyproject.toml", r) for r in project["project"]["dependencies"]]
    for extra, requirements in project["project"]["optional-dependencies"].items():
        found += [(f"pyproject.toml [{extra}]", r) for r in requirements]
    found += [("pyproject.toml [build-system]", r) for r in project["build-system"]["requires"]]
    return found


def test_requirements_name_no_local_file_path_or_url() -> None:
    offending = [f"{where}: {line}" for where, line in _requirement_lines() if _LOCAL.search(line)]
    assert offending == []


def test_every_requirement_is_a_name_with_an_optional_version() -> None:
    malformed = [f"{where}: {line}" for where, line in _requirement_lines() if not _REQUIREMENT.match(line)]
    assert malformed == []


def test_constraints_pin_exact_versions() -> None:
    unpinned = [line for where, line in _requirement_lines() if where == "constraints.txt" and "==" not in line]
    assert unpinned == []


def test_the_check_catches_the_last_release_mistake() -> None:
    bad = "llama_cpp_python @ file:///tmp/wheels/llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl#sha256=c2c5"
    assert _LOCAL.search(bad) and not _REQUIREMENT.match(bad)
