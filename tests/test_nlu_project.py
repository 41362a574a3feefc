"""The Rasa project in nlu/ is valid (`rasa data validate`)."""

from __future__ import annotations

import re
import subprocess

from bot.settings import get_settings
from nlu.service import NLU_DIR, rasa_env, rasa_executable

# An NLU-only project has no stories: Rasa says so for every intent; that is expected.
EXPECTED = re.compile(r"is not used in any story or rule|DeprecationWarning|SQLAlchemy|declarative_base")


def test_rasa_data_validate_passes():
    venv = get_settings().rasa_venv
    result = subprocess.run(
        [
            str(rasa_executable(venv)),
            "data",
            "validate",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--config",
            "config.yml",
        ],
        cwd=NLU_DIR,
        env=rasa_env(venv),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    problems = [
        line
        for line in output.splitlines()
        if re.search(r"\b(WARNING|ERROR|UserWarning)\b", line) and not EXPECTED.search(line)
    ]
    assert not problems, "\n".join(problems)
