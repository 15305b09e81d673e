"""A small teacher trained on the judge's recorded labels, a student distilled from it, both held to the
labeller contract: the whole training path, end to end, on real posts (no network, no model download)."""

from pathlib import Path

import numpy as np

from feedmix.signals.contract import check_labeler
from feedmix.signals.devset import DevSet
from feedmix.signals.judges.prompt import load_prompt
from feedmix.signals.signal_models import load_model, model_dir, model_meta
from feedmix.signals.training import mine_names, training_labels


def test_the_training_set_is_the_judges_pool_and_the_tuning_part_never_the_test_part() -> None:
    posts, labels, lineage = training_labels()
    dev = DevSet.load()
    test_ids = {pid for pid, s in zip(dev.posts.ids, dev.split, strict=True) if s == "test"}
    assert not test_ids & set(posts.ids)
    assert len(posts) == len(labels) == lineage["training_pool"]["posts"] + lineage["dev_tuning_posts"]
    assert lineage["prompt"]["digest"] == load_prompt().digest


def test_the_teacher_keeps_the_contract_and_records_its_lineage(models: Path) -> None:
    teacher = load_model("teacher", root=models, threads=1)
    check_labeler(teacher)
    meta = model_meta(model_dir("teacher", root=models))
    assert meta["featurizer"] == "minilm+rules" and meta["trained_posts"] == 400
    assert meta["lineage"]["judge"].startswith("recorded:") and meta["codebook_digest"]
    assert set(meta["c"]) == {"intent", "sentiment", "commercial", "category", "reason"}


def test_the_student_learns_the_teachers_decisions(models: Path) -> None:
    teacher = load_model("teacher", root=models, threads=1)
    student = load_model("student", root=models)
    check_labeler(student)
    dev = DevSet.load()
    t, s = teacher.label(dev.posts), student.label(dev.posts)
    assert np.mean(t.intent == s.intent) > 0.8
    assert np.mean(t.commercial == s.commercial) > 0.8
    assert model_meta(model_dir("student", root=models))["lineage"]["teacher"] == teacher.version


def test_mined_names_are_new_capitalised_product_names() -> None:
    posts, labels, _ = training_labels()
    names = mine_names(labels, posts)
    surfaces = [n[0] for n in names]
    assert len(surfaces) > 100
    assert all(any(c.isupper() or c.isdigit() for c in s) for s in surfaces if " " not in s)
    assert "Sennheiser" not in surfaces  # the gazetteer has it already
