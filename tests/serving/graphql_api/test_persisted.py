from pathlib import Path

import pytest

from feedmix.serving.graphql_api.persisted import PersistedDocuments, PersistedQueryError, digest


@pytest.fixture
def docs(tmp_path: Path) -> PersistedDocuments:
    (tmp_path / "A.graphql").write_text("query A { __typename }\n")
    return PersistedDocuments.load(directory=tmp_path)


def test_a_document_is_found_by_either_hash_form(docs: PersistedDocuments) -> None:
    h = digest("query A { __typename }\n")
    assert docs.resolve({"documentId": f"sha256:{h}"}) == "query A { __typename }\n"
    assert docs.resolve({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": h.upper()}}})


def test_unknown_hashes_are_refused_and_bad_forms_name_the_field(docs: PersistedDocuments) -> None:
    with pytest.raises(PersistedQueryError, match="no persisted document") as e:
        docs.resolve({"documentId": "sha256:" + "0" * 64})
    assert e.value.code == "PERSISTED_QUERY_NOT_FOUND"
    with pytest.raises(PersistedQueryError, match="documentId"):
        docs.resolve({"documentId": "md5:abc"})
    with pytest.raises(PersistedQueryError, match="sha256Hash"):
        docs.resolve({"extensions": {"persistedQuery": {"sha256Hash": 7}}})
    with pytest.raises(PersistedQueryError, match="query: required"):
        docs.resolve({})


def test_production_mode_accepts_only_persisted_text(tmp_path: Path) -> None:
    (tmp_path / "A.graphql").write_text("query A { __typename }\n")
    strict = PersistedDocuments.load(persisted_only=True, directory=tmp_path)
    assert strict.resolve({"query": "query A { __typename }\n"})  # the same text is known
    with pytest.raises(PersistedQueryError) as e:
        strict.resolve({"query": "{ __schema { types { name } } }"})
    assert e.value.code == "PERSISTED_QUERY_REQUIRED"
    assert PersistedDocuments.load(directory=tmp_path).resolve({"query": "{ x }"}) == "{ x }"
