"""gRPC for internal callers: the ranking coordinator (``proto/feedmix/v1/ranking.proto``) over the same
feed service as REST and GraphQL. ``generated`` holds protoc's output (``feedmix grpc-codegen`` rewrites
it; a test keeps it equal to what the pinned grpcio-tools generates), ``ranking_service`` the servicer,
``grpc_server`` the server a serving process starts beside its HTTP one."""
