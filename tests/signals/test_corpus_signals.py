from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from feedmix.corpus.reddit_corpus import demo_data_dir
from feedmix.signals.corpus_posts import read_corpus_posts
from feedmix.signals.corpus_signals import CorpusSignals
from feedmix.signals.post_signal_table import PostSignalTable
from feedmix.signals.post_signals import PostSignals
from feedmix.signals.posts import Posts
from feedmix.signals.rules_labeler import RulesLabeler


class Counting(RulesLabeler):
    calls = 0

    def label(self, posts: Posts) -> PostSignals:
        Counting.calls += len(posts)
        return super().label(posts)


def _slice(tmp_path: Path, n: int = 400) -> Path:
    table = pacsv.read_csv(
        demo_data_dir() / "reddit_posts.csv.gz", parse_options=pacsv.ParseOptions(newlines_in_values=True)
    ).slice(0, n)
    path = tmp_path / "posts.csv"
    pacsv.write_csv(table, path)
    return path


def test_labels_the_corpus_once_then_reads_the_archive(tmp_path: Path) -> None:
    posts = _slice(tmp_path)
    got: list[PostSignalTable] = []
    first = CorpusSignals(posts, Counting(), tmp_path / "state", got.append, label_missing=True).start()
    assert first.wait(120) and Counting.calls == 400
    table = got[0]
    assert len(table) == 400 and table.labelled == 400
    assert set(table.safety.tolist()) <= {0, 1, 2} and (table.intent >= 0).all()
    second = CorpusSignals(posts, Counting(), tmp_path / "state", got.append).start()
    assert second.wait(120) and Counting.calls == 400  # read back, not labelled again
    assert got[1].intent.tolist() == table.intent.tolist()


def test_without_an_archive_posts_stay_unrated_unless_asked_to_label(tmp_path: Path) -> None:
    got: list[PostSignalTable] = []
    loader = CorpusSignals(_slice(tmp_path, 50), RulesLabeler(), tmp_path / "state", got.append).start()
    assert not loader.wait(60) and got == [] and loader.error is None


def test_a_broken_corpus_file_leaves_posts_unrated_and_says_why(tmp_path: Path) -> None:
    bad = tmp_path / "posts.csv"
    pacsv.write_csv(pa.table({"id": ["a"], "title": ["no subreddit column"]}), bad)
    loader = CorpusSignals(bad, RulesLabeler(), tmp_path / "state", print, label_missing=True).start()
    assert not loader.wait(60) and loader.error is not None


def test_labelling_in_a_child_process_leaves_the_servers_gil_alone(tmp_path: Path) -> None:
    got: list[PostSignalTable] = []
    loader = CorpusSignals(
        _slice(tmp_path, 300),
        RulesLabeler(),
        tmp_path / "state",
        got.append,
        label_missing=True,
        tier="rules",
    ).start()
    assert loader.wait(120) and got[0].labelled == 300, loader.error
    assert loader._slice_archive(read_corpus_posts(tmp_path / "posts.csv")).shards() == [0]
