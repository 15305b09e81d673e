"""``/graphql`` on the serving app: POST runs an operation (a document, or a persisted one by hash),
GET shows GraphiQL. The endpoint is ours rather than Strawberry's view so that persisted documents,
the request's params (``p.*`` query parameters, as in REST) and the response's ``extensions`` are
decided in one readable place; the execution itself is Strawberry's."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from feedmix.serving.graphql_api.context import RequestContext
from feedmix.serving.graphql_api.limits import document_errors
from feedmix.serving.graphql_api.loaders import Loaders
from feedmix.serving.graphql_api.persisted import PersistedDocuments, PersistedQueryError
from feedmix.serving.graphql_api.schema import build_schema
from feedmix.serving.graphql_api.services import GraphQLServices

PARAM_PREFIX = "p."


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def graphql_router(
    services: GraphQLServices, persisted: PersistedDocuments, graphiql: bool = True
) -> APIRouter:
    router = APIRouter(tags=["graphql"])
    schema = build_schema()

    @router.post("/graphql")
    async def execute(request: Request) -> Response:
        """A GraphQL operation: {query | documentId, variables, operationName}."""
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as e:
            return _json({"errors": [{"message": f"body: not JSON ({e})"}]}, 400)
        if not isinstance(body, dict):
            return _json({"errors": [{"message": "body: expected a JSON object"}]}, 400)
        try:
            document = persisted.resolve(body)
        except PersistedQueryError as e:
            return _json({"errors": [{"message": str(e), "extensions": {"code": e.code}}]}, 400)
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return _json({"errors": [{"message": "variables: expected a JSON object"}]}, 400)
        overrides = {
            k[len(PARAM_PREFIX) :]: v for k, v in request.query_params.items() if k.startswith(PARAM_PREFIX)
        }
        errors = document_errors(schema._schema, document)
        if errors:
            return _json({"data": None, "errors": [e.formatted for e in errors]})
        context = RequestContext(services, Loaders(services), overrides)
        result = await schema.execute(
            document,
            variable_values=variables,
            context_value=context,
            operation_name=body.get("operationName"),
        )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        if result.extensions:
            out["extensions"] = result.extensions
        return _json(out)

    if graphiql:

        @router.get("/graphql", include_in_schema=False)
        def ide() -> HTMLResponse:
            return HTMLResponse(get_graphql_ide_html("graphiql"))

    return router
