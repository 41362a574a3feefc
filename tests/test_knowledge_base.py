"""Knowledge-base content and the data derived from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.runtime import contract_topic_ids
from bot.settings import ROOT
from knowledge_base.loader import KnowledgeBaseError, load_knowledge_base
from nlu import build

SHARED = ROOT.parent / "shared"


def test_every_contract_topic_has_a_valid_entry():
    kb = load_knowledge_base(ROOT / "knowledge_base" / "topics", contract_topic_ids())
    topics = yaml.safe_load((ROOT / "contract" / "faq_topics.yaml").read_text())["topics"]
    for topic in topics:
        entry = kb[topic["id"]]
        assert entry.life_situation == topic["life_situation"]
        assert len(entry.paraphrases) >= 8
        assert entry.source.url.scheme == "https"


def test_errors_name_the_file_and_the_field(tmp_path: Path):
    good = (ROOT / "knowledge_base" / "topics" / "usn.yaml").read_text()
    (tmp_path / "usn.yaml").write_text(good.replace("life_situation: taxes", "life_situation: nonsense"))
    with pytest.raises(KnowledgeBaseError, match=r"usn\.yaml.*field 'life_situation'"):
        load_knowledge_base(tmp_path)
    with pytest.raises(KnowledgeBaseError, match=r"usn\.yaml: field 'related' names unknown topic"):
        (tmp_path / "usn.yaml").write_text(good)
        load_knowledge_base(tmp_path)
    entry = yaml.safe_load(good) | {"related": []}
    (tmp_path / "usn.yaml").write_text(yaml.safe_dump(entry, allow_unicode=True))
    with pytest.raises(KnowledgeBaseError, match="missing: register_ip"):
        load_knowledge_base(tmp_path, ["usn", "register_ip"])


def test_generated_nlu_files_are_up_to_date():
    assert build.main(["--check"]) == 0, "run `make nlu-data` and commit the result"


@pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside this checkout")
@pytest.mark.parametrize(
    "copy, original",
    [
        ("contract/api.md", "contract/api.md"),
        ("contract/intents.yaml", "contract/intents.yaml"),
        ("contract/faq_topics.yaml", "contract/faq_topics.yaml"),
        ("eval/dev.tsv", "eval/dev.tsv"),
        ("benchmarks/data/hwu64_ru/hwu64_ru_mt.test.jsonl", "benchmarks/hwu64_ru/hwu64_ru_mt.test.jsonl"),
        ("benchmarks/data/hwu64_ru/LICENSE.encodechka", "benchmarks/hwu64_ru/LICENSE.encodechka"),
    ],
)
def test_copies_match_the_shared_originals(copy, original):
    assert (ROOT / copy).read_bytes() == (SHARED / original).read_bytes(), f"re-copy {original}"
