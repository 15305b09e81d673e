import json
import shutil
from pathlib import Path

import pytest

from feedmix.signals.devset import LABELLED_DIR, DevSet


def test_the_dev_set_has_four_hundred_posts_two_thirds_from_shopping_communities() -> None:
    dev = DevSet.load()
    assert len(dev) >= 400
    pools = [json.loads(x)["pool"] for x in (LABELLED_DIR / "dev_posts.jsonl").read_text().splitlines()]
    assert abs(pools.count("commercial") / len(pools) - 2 / 3) < 0.02
    assert dev.mask("test").sum() + dev.mask("tuning").sum() == len(dev)
    assert 0 < dev.mask("test", "high").sum() < dev.mask("test").sum()
    assert len(dev.digest) == 16


def test_every_gold_label_keeps_the_codebook(tmp_path: Path) -> None:
    # a label breaking the codebook is refused with the post and the field named
    for name in ("dev_posts.jsonl", "dev_labels.jsonl"):
        shutil.copy(LABELLED_DIR / name, tmp_path / name)
    lines = (tmp_path / "dev_labels.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["category"] = "Spaceships"
    first["commercial"] = True
    (tmp_path / "dev_labels.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match=f"post {first['id']}: category"):
        DevSet.load(tmp_path)


def test_a_product_not_in_the_text_is_refused(tmp_path: Path) -> None:
    for name in ("dev_posts.jsonl", "dev_labels.jsonl"):
        shutil.copy(LABELLED_DIR / name, tmp_path / name)
    lines = (tmp_path / "dev_labels.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["products"] = ["Definitely Not In The Text 9000"]
    first["stance"] = "neutral"
    (tmp_path / "dev_labels.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match="does not occur"):
        DevSet.load(tmp_path)


def test_an_unknown_split_is_refused() -> None:
    with pytest.raises(ValueError, match="split"):
        DevSet.load().mask("validation")
