"""Where batch jobs run: in this process by default, or as tasks on a Ray cluster.

A job (the training-set build, the index build, the signals backfill) splits its input into
partitions whose results combine to exactly what one pass over everything gives, and hands them to
an :class:`~feedmix.jobs.executor.Executor`; ``backends.make_executor`` picks one by name. The package
imports nothing else of feedmix, so any subsystem can run its jobs through it.
"""
