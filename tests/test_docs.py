"""The README cannot drift from the code (as datasette's tests/test_docs.py keeps its docs true).

Each test fails when something is added to the code without being documented, or documented
without existing: the module map, the configuration block, the jobs, the ``crm`` command table,
the bench keys, and the files the README and the code's comments point to.
"""

from __future__ import annotations

import argparse
import json
import re
import tomllib

import pytest

from crm_core.config import OPTIONS
from jobs import JOBS
from jobs.cli import build_parser
from tests.paths import ROOT

README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    """The README's text from the heading ``## title`` to the next ``## `` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def fenced(text: str, language: str = "") -> str:
    """The first fenced code block (of ``language``) in ``text``."""
    match = re.search(rf"```{language}\n(.*?)```", text, re.S)
    assert match, f"no ```{language} block"
    return match.group(1)


# -- the module map ------------------------------------------------------------------------------


def map_entries() -> set[str]:
    """Paths the "How it is built" map lists: ``accounts/`` under ``crm_core/`` is
    ``crm_core/accounts/``, ``users.py`` under it ``crm_core/accounts/users.py``; a line may
    list several names separated by commas; two spaces end the names."""
    listed: set[str] = set()
    parents: list[tuple[int, str]] = []  # (indent, folder)
    for line in fenced(section("How it is built")).splitlines():
        names = line.strip().split("  ")[0]
        if not names or not re.fullmatch(r"[\w./]+(, [\w./]+)*,?", names):
            continue  # a continued description
        indent = len(line) - len(line.lstrip())
        while parents and parents[-1][0] >= indent:
            parents.pop()
        prefix = "".join(folder for _, folder in parents)
        for name in filter(None, (n.strip() for n in names.split(","))):
            listed.add(prefix + name)
            if name.endswith("/"):
                parents.append((indent, name))
    return listed


def test_every_module_is_in_the_map_and_every_entry_exists():
    listed = map_entries()
    modules = {
        path.relative_to(ROOT).as_posix()
        for folder in ("crm_core", "jobs")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "__init__.py" or folder == "jobs"
    }
    # Every package, and every folder of files right inside a package (data, catalogs).
    packages = {
        folder.relative_to(ROOT).as_posix() + "/"
        for folder in (ROOT / "crm_core").rglob("*")
        if folder.is_dir() and folder.name != "__pycache__"
        and ((folder / "__init__.py").exists() or (folder.parent / "__init__.py").exists())
    }  # fmt: skip
    assert sorted(modules - listed) == [], "add these modules to the README's map"
    assert sorted(packages - listed) == [], "add these folders to the README's map"
    missing = sorted(p for p in listed if not (ROOT / p).exists())
    assert missing == [], "the README's map names what does not exist"


# -- settings ------------------------------------------------------------------------------------


def configuration_block() -> dict[str, dict[str, str]]:
    """section -> key -> the text of its line(s), commented-out keys included."""
    found: dict[str, dict[str, str]] = {}
    current, key = "", ""
    for line in fenced(section("Configuration"), "toml").splitlines():
        if match := re.match(r"\[(\w+)\]", line):
            current, key = match.group(1), ""
            found[current] = {}
        elif match := re.match(r"#? ?(\w+) = ", line):
            key = match.group(1)
            found[current][key] = line
        elif key and line.startswith(" "):
            found[current][key] += line  # a comment continued on the next line
    return found


def test_every_setting_is_in_the_configuration_block_with_its_variable():
    block = configuration_block()
    for option in OPTIONS:
        line = block.get(option.section, {}).get(option.key)
        assert line is not None, f"[{option.section}] {option.key} is not in the README"
        if option.env:
            assert option.env in line, f"[{option.section}] {option.key}: name {option.env}"
    declared = {(o.section, o.key) for o in OPTIONS}
    documented = {(s, k) for s, keys in block.items() for k in keys}
    assert sorted(documented - declared) == [], "the README documents settings that do not exist"


def test_the_security_section_gives_every_import_limit_with_its_default():
    """The limits' table names each [imports] setting, its variable and the default it has."""
    rows = {re.match(r"\| `\[imports\] (\w+)`", line).group(1): line
            for line in section("Security").splitlines()
            if line.startswith("| `[imports]")}  # fmt: skip
    limits = [o for o in OPTIONS if o.section == "imports"]
    assert sorted(rows) == sorted(o.key for o in limits)
    for option in limits:
        cells = [c.strip() for c in rows[option.key].split("|")]
        assert f"`{option.env}`" in cells[1], option.key
        assert float(cells[2]) == option.default, f"{option.key}: the README gives another default"


def test_the_security_section_names_what_the_deployment_must_set():
    text = section("Security")
    for setting in ("tls_cert", "tls_key", "trusted_proxy", "max_file_mb", "0600"):
        assert setting in text, setting


def test_the_configuration_block_is_valid_toml_with_the_declared_types():
    parsed = tomllib.loads(fenced(section("Configuration"), "toml"))
    for option in OPTIONS:
        value = parsed.get(option.section, {}).get(option.key)
        if value is not None and option.default is not None:
            assert isinstance(value, type(option.default) | int), option


def test_the_config_file_and_the_environment_are_read_as_documented(tmp_path, monkeypatch):
    """The README's example file, loaded: every uncommented value arrives; the environment wins."""
    from crm_core.config import load_settings

    config = tmp_path / "config.toml"
    config.write_text(fenced(section("Configuration"), "toml"))
    monkeypatch.setenv("CRM_CONFIG", str(config))
    for option in OPTIONS:
        if option.env:
            monkeypatch.delenv(option.env, raising=False)
    monkeypatch.setenv("CRM_PORT", "9999")
    settings = load_settings()
    parsed = tomllib.loads(config.read_text())
    for option in OPTIONS:
        value = parsed.get(option.section, {}).get(option.key)
        if value is None or option.env == "CRM_PORT":
            continue
        got = getattr(settings, option.attr)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert float(got) == float(value), option
        else:
            assert str(got).lower().rstrip("/") == str(value).lower(), option
    assert settings.port == 9999


# -- jobs, commands, bench -----------------------------------------------------------------------


def test_every_job_is_described():
    text = section("Running it for the team") + section("How it is built")
    for job in JOBS:
        assert f"`{job.name}`" in text, f"the README does not describe the job {job.name}"
    assert f"the {len(JOBS)} jobs" in text or f"{_word(len(JOBS))} jobs" in text


def _word(number: int) -> str:
    return ["no", "one", "two", "three", "four", "five", "six", "seven"][number]


def commands(parser: argparse.ArgumentParser, path: str = "crm"):
    """(``crm user add``, the spellings of each of its options) for every command that runs."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        options = [a.option_strings for a in parser._actions if a.option_strings]
        yield path, [o for o in options if "--help" not in o]
        return
    for name, sub in actions[0].choices.items():
        yield from commands(sub, f"{path} {name}")


@pytest.mark.parametrize("command,options", list(commands(build_parser())))
def test_every_crm_command_and_option_is_in_the_command_table(command, options):
    rows = [line for line in section("The `crm` command").splitlines() if line.startswith("|")]
    mine = [row for row in rows if f"`{command}" in row]
    assert mine, f"{command} is not in the README's command table"
    for spellings in options:
        assert any(re.search(rf"{s}\b", row) for s in spellings for row in mine), (
            f"{command} {spellings[-1]} is not in the table"
        )


def test_every_bench_key_is_in_the_performance_table():
    text = section("Performance")
    from bench.run import TARGETS

    keys = set(TARGETS) | set(json.loads((ROOT / "bench" / "results.json").read_text()))
    assert sorted(k for k in keys if f"`{k}`" not in text) == []
    for key, (_, limit) in TARGETS.items():
        row = next(line for line in text.splitlines() if f"`{key}`" in line)
        assert f"< {limit:g}" in row, f"{key}: the README gives another target"


def test_the_million_contact_run_and_its_targets_are_documented():
    text = section("Performance")
    from bench.run import MILLION, TARGETS_1M, results_path

    assert "make bench SCALE=1000000" in text and f"`{results_path(MILLION).name}`" in text
    for key, (_, limit) in TARGETS_1M.items():
        assert re.search(rf"`{key}`[^\n]*< {limit:g}\b", text), f"{key} at 1 M: target"


# -- files the documentation points to -----------------------------------------------------------


def test_files_the_readme_names_exist():
    named = set(re.findall(r"`((?:crm_core|pages|jobs|tests|bench)/[\w./-]+)`", README))
    generated = {"bench/bench.duckdb"}  # made by ``make bench``, git-ignored
    missing = sorted(p for p in named - generated if not (ROOT / p.rstrip("/")).exists())
    assert missing == []


def test_comments_point_only_to_files_in_the_repository():
    """A comment that cites a Markdown file cites one that a fresh clone has."""
    wrong = []
    for folder in ("crm_core", "jobs", "pages", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for name in re.findall(r"\b([\w/.-]+\.md)\b", path.read_text()):
                if not any((base / name).exists() for base in (ROOT, path.parent)):
                    wrong.append(f"{path.relative_to(ROOT)}: {name}")
    assert wrong == []
