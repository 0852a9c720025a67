"""The README tells the truth: its figures are the measured ones, its test command is CI's."""

import readme
from tests.conftest import ROOT


def test_readme_figures_match_the_artifacts():
    assert (ROOT / "README.md").read_text() == readme.rendered_readme(), "run `python -m readme`"


def test_ci_runs_the_readmes_test_command():
    assert "make test " in (ROOT / "README.md").read_text()
    ci_commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                   if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci_commands == ["make test"]
