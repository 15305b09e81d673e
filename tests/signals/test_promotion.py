import shutil
from pathlib import Path

from feedmix.signals.devset import DevSet
from feedmix.signals.promotion import promote
from feedmix.signals.signal_models import load_model, model_dir, model_meta, promoted_version, read_names
from feedmix.signals.training import distill_student


def test_a_version_is_promoted_only_when_its_slos_hold(models: Path, tmp_path: Path) -> None:
    root = tmp_path / "state"
    shutil.copytree(models, root, dirs_exist_ok=True)
    first = model_meta(model_dir("student", root=root))["version"]
    report = promote("student", None, root)
    assert report["promoted"] and promoted_version("student", root) == first
    assert promote("student", None, root)["decision"] == "already current"
    # a crippled student: 16 hashed features cannot tell posts apart
    teacher = load_model("teacher", root=root, threads=1)
    dev = DevSet.load()
    names = read_names(model_dir("teacher", root=root) / "names.tsv")
    import time

    time.sleep(1.1)  # versions are timestamps
    distill_student(
        teacher.label(dev.posts), dev.posts, teacher.version, names, root=root, n_features=16, log=print
    )
    worse = promote("student", None, root, sample=dev.posts.take(range(100)))
    assert not worse["promoted"] and worse["breaches"]
    assert worse["corpus_sample"]["posts"] == 100
    assert promoted_version("student", root) == first  # serving keeps the current version
    forced = promote("student", worse["candidate"], root, force=True)
    assert forced["promoted"] and "force" in forced["decision"]
