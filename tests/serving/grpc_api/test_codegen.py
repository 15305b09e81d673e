from pathlib import Path

from feedmix.serving.grpc_api.codegen import PACKAGE_PATH, REPO, generate


def test_the_committed_code_is_what_the_pinned_grpcio_tools_generate(tmp_path: Path) -> None:
    # the proto changed? run: feedmix grpc-codegen
    fresh = generate(tmp_path)
    assert [p.name for p in fresh] == ["ranking_pb2.py", "ranking_pb2.pyi", "ranking_pb2_grpc.py"]
    for path in fresh:
        committed = REPO / "src" / PACKAGE_PATH / path.name
        assert committed.read_text() == path.read_text(), path.name
