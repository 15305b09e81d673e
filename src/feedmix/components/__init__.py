"""The component library, filed by kind: one folder per pipeline slot, one component per module.

The rule that ties a config to the code: type ``seen_posts_filter`` is the module
``filters/seen_posts_filter.py`` holding the class ``SeenPostsFilter``. Discovery
(:meth:`feedmix.core.pipeline.ComponentRegistry.discover`) registers every module by it, so adding a
component is one file here and one line in a product's pipeline (``feedmix.products``); the test kit
(``feedmix.testing``) then runs every framework contract on it.
"""
