"""The content corpus: real Reddit posts, loaded into columns with the indexes sources need."""

from feedmix.corpus.reddit_corpus import RedditCorpus, default_data_dir, demo_data_dir

__all__ = ["RedditCorpus", "default_data_dir", "demo_data_dir"]
