"""The set-up scripts' Python one-liners import names that exist: moving `settings_or_exit` out of config.py broke
`bash setup.sh` before any test ran."""

import ast
import importlib
import re

import pytest

from app.core.config import PROJECT_ROOT

SCRIPTS = ("setup.sh", "setup.ps1")
# `"$PY" -c '…'` in setup.sh, `& $Py -c "…"` in setup.ps1.
ONE_LINER = re.compile(r"""-c\s+(['"])(.+?)\1""")


def _one_liners() -> list:
    return [
        pytest.param(found.group(2), id=f"{script}:{number}")
        for script in SCRIPTS
        for number, line in enumerate((PROJECT_ROOT / script).read_text().splitlines(), start=1)
        for found in ONE_LINER.finditer(line)
    ]


def test_both_scripts_check_the_settings_and_the_model_the_same_way():
    found = [{code for _, code in ONE_LINER.findall((PROJECT_ROOT / script).read_text())} for script in SCRIPTS]
    shell, powershell = ({code for code in codes if "app." in code} for codes in found)
    assert len(shell) == 2 and shell == powershell


@pytest.mark.parametrize("code", _one_liners())
def test_a_setup_one_liner_imports_what_the_app_has(code):
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)


def test_setup_ps1_passes_pytests_options_through_untouched():
    # A param() block makes the script an advanced one: PowerShell took `-v` for -Verbose and `-m` for -Mode, so
    # `.\setup.ps1 test -m "not slow" -v` failed or ran the whole suite quietly. No pwsh here to run it: the script
    # is held to reading $args, with the same modes as setup.sh.
    text = (PROJECT_ROOT / "setup.ps1").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"(?im)^\s*param\s*\(", code) and "[Parameter(" not in code and "CmdletBinding" not in code
    assert "$PytestArgs = @($args | Select-Object -Skip 1)" in code and "& $Py -m pytest @PytestArgs" in code
    shell_modes = re.search(r"usage: bash setup.sh \[([a-z|]+)\]", (PROJECT_ROOT / "setup.sh").read_text()).group(1)
    assert f"usage: .\\setup.ps1 [{shell_modes}]" in code
    assert set(shell_modes.split("|")) == {"run", "test", "setup"}
    assert '$Mode -notin @("run", "test", "setup")' in code
