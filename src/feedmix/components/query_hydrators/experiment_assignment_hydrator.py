"""Puts the request in its experiments: the variants' params for every component downstream.

A param hydrator (it runs first, on the request thread): the user's variants come from hashes alone
(:mod:`feedmix.experiments.assignment`), the user directory says what targeting may use, and the
variants' param overrides apply under the request's own ``p.`` overrides. The assignments are a query
feature (the exposure side effect logs them) and an annotation (the response lists them). With no
experiment on the surface it costs a set lookup; if it fails, the request runs as the control and
the response names this component in ``failed_components``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from feedmix.core.components import PARAM_OVERRIDES, ParamHydrator
from feedmix.core.query import Query
from feedmix.experiments.assigner_handle import AssignerHandle
from feedmix.experiments.assignment import visitor_from_profile
from feedmix.users.directory import UserDirectory

#: the query feature holding the request's ``Assignment`` tuple, and the annotation the response reads
ASSIGNMENTS = "experiments.assignments"
ANNOTATION = "experiments"


class ExperimentAssignmentHydrator(ParamHydrator):
    WRITES_QUERY = (ASSIGNMENTS,)
    inline = True
    owner = "experimentation"

    def __init__(
        self, identifier: str, users: UserDirectory, experiments: AssignerHandle | None = None
    ) -> None:
        super().__init__(identifier)
        #: None where the process runs no experiments: every request is the control
        self.experiments = experiments
        self.users = users

    def hydrate(self, query: Query) -> Mapping[str, Any]:
        if self.experiments is None:
            return {ASSIGNMENTS: ()}
        assigner = self.experiments.current()
        if query.surface not in assigner.surfaces:
            return {ASSIGNMENTS: ()}
        visitor = visitor_from_profile(query.user_id, query.request_id, self.users.get(query.user_id))
        assignments = tuple(assigner.assign(query.surface, visitor))
        query.annotations[ANNOTATION] = [a.as_dict() for a in assignments]
        return {ASSIGNMENTS: assignments, PARAM_OVERRIDES: assigner.overrides(assignments)}
