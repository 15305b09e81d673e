"""Regenerates ``generated/`` from ``proto/feedmix/v1/ranking.proto`` with the pinned grpcio-tools
(a dev dependency: serving needs only grpcio and protobuf). The proto is mapped onto this package's
path, so the generated modules import each other as ``feedmix.serving.grpc_api.generated``."""

from __future__ import annotations

from pathlib import Path

PACKAGE_PATH = "feedmix/serving/grpc_api/generated"
REPO = Path(__file__).resolve().parents[4]
PROTO = REPO / "proto" / "feedmix" / "v1" / "ranking.proto"


def generate(out_root: Path, proto: Path = PROTO) -> list[Path]:
    """Writes ``<out_root>/feedmix/serving/grpc_api/generated/ranking_pb2{,_grpc}.py{,i}``."""
    from grpc_tools import protoc  # the dev extra's grpcio-tools

    out_root.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PACKAGE_PATH}={proto.parent}",
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--pyi_out={out_root}",
        str(proto),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {proto}")
    return sorted((out_root / PACKAGE_PATH).glob("ranking_pb2*"))
