"""Conventions as tests: the README documents every setting and command, and its commands exist."""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from engagement.__main__ import build_parser
from engagement.settings import SETTINGS_HELP

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SETTINGS_HELP))
def test_every_setting_is_in_the_readme_with_its_default(name: str) -> None:
    """Each setting the code reads has a README table row that shows its default."""
    default = SETTINGS_HELP[name][0]
    row = next((line for line in README.splitlines() if line.startswith(f"| `{name}` |")), None)
    assert row is not None, f"README has no row for {name}"
    assert (f"`{default}`" if default else "*(empty)*") in row


def test_every_make_target_the_readme_shows_exists() -> None:
    """`make X` in the README names a real Makefile target."""
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    shown = set(re.findall(r"\bmake ([a-z][a-z-]*)", README))
    assert {"run", "test"} <= shown
    assert shown <= targets, shown - targets


def test_every_cli_command_is_documented_and_every_documented_one_exists() -> None:
    """The README shows each `python -m engagement` command, and each one it shows parses."""
    commands = re.findall(r"python -m engagement ([^\n`#|]+)", README)
    assert commands
    parser = build_parser()
    for command in commands:
        words = shlex.split(command)  # a quoted question is one argument
        try:
            parser.parse_args(words)
        except SystemExit as exc:  # argparse exits on a command that does not exist
            raise AssertionError(f"README shows `python -m engagement {command}`, which does not parse") from exc
    documented = {" ".join(c.split()[:2]) if c.startswith(("jobs", "cache")) else c.split()[0] for c in commands}
    assert {"summarize", "ask", "jobs list", "jobs purge", "cache clear"} <= documented


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs `make test`, the command the README gives for the tests, and nothing else that matters."""
    script = (ROOT / ".ci" / "run").read_text()
    assert "make test" in script
    commands = [
        line for line in script.splitlines() if line.strip() and not line.lstrip().startswith(("#", "set ", "cd "))
    ]
    assert commands == ["make test"]


def test_git_ignores_the_venv_and_the_job_database_but_not_demo_data() -> None:
    """.venv/ and data/ are ignored; the bundled demo data is not."""

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False).returncode == 0

    assert ignored(".venv/bin/python") and ignored("data/engagement.sqlite")
    assert not ignored("engagement/demo/data/acmecorp.com.json")


@pytest.mark.parametrize("name", ["fathom-openapi.yaml", "fathom-meeting-examples.json"])
def test_the_reference_copy_matches_the_teams_shared_reference(name: str) -> None:
    """docs/reference is the same as ../shared/reference when the team's folder is beside the clone."""
    shared = ROOT.parent / "shared" / "reference" / name
    if not shared.exists():
        pytest.skip("no shared/ beside this clone")
    assert (ROOT / "docs" / "reference" / name).read_bytes() == shared.read_bytes()


# What a page may call before its frame: reading the settings and the URL's mode render nothing.
_BEFORE_FRAME = {"load_settings", "is_presenting"}


def _renders(node: ast.AST, ui_names: set[str]) -> set[str]:
    """The calls in ``node`` that can draw on the page: ``st.…`` and anything imported from ``ui``."""
    found = set()
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        base = call.func
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and (base.id == "st" or base.id in ui_names):
            found.add(ast.unparse(call.func))
    return found


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "pages").glob("*.py")))
def test_every_page_calls_its_frame_before_it_renders_anything(page: str) -> None:
    """Streamlit may run a page without the entry script, so each page gates itself first: page_frame()
    is a top-level call of the file, and nothing before it calls Streamlit or the ui package but to read settings."""
    tree = ast.parse((ROOT / "pages" / page).read_text(encoding="utf-8"))
    ui_names = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ui"
        for alias in node.names
    }
    for statement in tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef):
            continue
        calls = _renders(statement, ui_names)
        if "page_frame" in calls:
            assert isinstance(statement, ast.Expr), "page_frame() stands as a statement of its own"
            return
        assert calls <= _BEFORE_FRAME, f"{page} calls {sorted(calls - _BEFORE_FRAME)} before page_frame()"
    pytest.fail(f"{page} never calls page_frame() at the top level")


# ---------------------------------------------------------------- docs/DESIGN.md names only what exists

DESIGN = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
_CODE_SPANS = re.findall(r"`([^`\n]+)`", DESIGN)
_PATH = re.compile(r"(\.\./)?[\w.-]+(/[\w.-]+)*(/|\.(py|md|yaml|yml|toml|txt|json|png|sh))")
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+(\(\))?")
# Files the app makes at run time (not in the repository).
_MADE_AT_RUN_TIME = {"data/engagement.sqlite", ".streamlit/secrets.toml"}
# Dotted spans that are not this project's code: other libraries (RQ's ``Worker``), record fields, example domains.
_NOT_OUR_CODE = {
    "st",
    "streamlit",
    "go",
    "html",
    "json",
    "threading",
    "httpx",
    "server",
    "summary",
    "stats",
    "options",
    "coverage",
    "Worker",
}


def _design_paths() -> list[str]:
    return sorted({s for s in _CODE_SPANS if _PATH.fullmatch(s) and s not in _MADE_AT_RUN_TIME})


def _design_names() -> list[str]:
    return sorted(
        {
            s
            for s in _CODE_SPANS
            if _DOTTED.fullmatch(s)
            and not _PATH.fullmatch(s)
            and not re.fullmatch(r"[a-z0-9.-]+\.(com|io|co\.uk|ai)", s)
        }
    )


def test_design_names_real_files_and_code() -> None:
    """The checker itself: it finds the design doc's paths and dotted names (so an empty match cannot pass)."""
    assert "engagement/jobs/repository.py" in _design_paths()
    assert "JobService.start" in {n.removesuffix("()") for n in _design_names()}


@pytest.mark.parametrize("path", _design_paths())
def test_every_file_the_design_doc_names_exists(path: str) -> None:
    """Each file or folder docs/DESIGN.md names (written from the repository's root, or ../shared/) is there."""
    if path.startswith("../shared/") and not (ROOT.parent / "shared").exists():
        pytest.skip("no shared/ beside this clone")
    assert (ROOT / path).exists(), f"docs/DESIGN.md names {path}, which is not in the repository"


def _modules() -> dict[str, list[object]]:
    """Every module of engagement/ (and its public names) by short name, imported."""
    import importlib
    import pkgutil

    import engagement

    found: dict[str, list[object]] = {}
    for info in pkgutil.walk_packages(engagement.__path__, "engagement."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        found.setdefault(info.name.rsplit(".", 1)[1], []).append(module)
        for name, value in vars(module).items():
            if not name.startswith("_") and getattr(value, "__module__", None) == info.name:
                found.setdefault(name, []).append(value)
    return found


def _has(owner: object, name: str) -> bool:
    """An attribute, a declared field (pydantic, dataclass, annotation) or an attribute set in ``__init__``."""
    import inspect

    if hasattr(owner, name):
        return True
    fields = {
        *getattr(owner, "model_fields", {}),
        *getattr(owner, "__dataclass_fields__", {}),
        *getattr(owner, "__annotations__", {}),
    }
    if name in fields:
        return True
    if inspect.isclass(owner):
        try:
            return re.search(rf"self\.{name}\s*[:=]", inspect.getsource(owner)) is not None
        except (OSError, TypeError):
            return False
    return False


@pytest.mark.parametrize("dotted", _design_names())
def test_every_module_and_name_the_design_doc_names_exists(dotted: str) -> None:
    """Each dotted name in docs/DESIGN.md (``engagement.x.y``, ``module.name``, ``Class.attr``) resolves in the
    code: a module that imports, then attributes; names of other libraries and record fields are listed apart."""
    import importlib

    parts = dotted.removesuffix("()").split(".")
    if parts[0] in _NOT_OUR_CODE:
        return
    if parts[0] in {"engagement", "ui", "bench", "tests"}:
        for cut in range(len(parts), 0, -1):  # the longest prefix that imports, then attributes
            try:
                owners: list[object] = [importlib.import_module(".".join(parts[:cut]))]
            except ModuleNotFoundError:
                continue
            rest = parts[cut:]
            break
        else:
            pytest.fail(f"docs/DESIGN.md names {dotted}, which does not import")
    else:
        owners, rest = _modules().get(parts[0], []), parts[1:]
        assert owners, f"docs/DESIGN.md names {dotted}: no module or public name {parts[0]!r} in engagement/"
    for owner in owners:
        value: object = owner
        for name in rest:
            if not _has(value, name):
                break
            value = getattr(value, name, None)
        else:
            return
    pytest.fail(f"docs/DESIGN.md names {dotted}, which is not in the code")


# ---------------------------------------------------------------- each package names its public face

_PACKAGES = ["account", "fathom", "jobs", "meetings", "questions", "render", "storage"]


@pytest.mark.parametrize("package", _PACKAGES)
def test_each_package_names_its_public_face_and_every_name_is_there(package: str) -> None:
    """A package's ``__all__`` is exactly what its ``__init__`` re-exports, and each name reads the module's own object."""
    import importlib

    module = importlib.import_module(f"engagement.{package}")
    assert module.__doc__ and module.__doc__.strip()
    faces: dict[str, str] = module.__getattr__.faces
    assert sorted(module.__all__) == sorted(faces)
    for name, home in faces.items():
        assert getattr(module, name) is getattr(importlib.import_module(f"engagement.{package}.{home}"), name)


def test_importing_a_package_loads_none_of_its_modules() -> None:
    """``import engagement.x`` costs nothing: a fresh process that imports every package has loaded no module of theirs."""
    code = (
        "import sys\n"
        f"for p in {_PACKAGES!r}: __import__('engagement.' + p)\n"
        "print(sorted(m for m in sys.modules if m.count('.') >= 2 and m.startswith('engagement.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
