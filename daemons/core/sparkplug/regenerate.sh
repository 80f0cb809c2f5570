#!/bin/sh
# Regenerates sparkplug_b_pb2.py from sparkplug_b.proto (Eclipse Tahu's Sparkplug B schema,
# tahu commit 5736e404889d4b95910613040a99ba79589ffb13, sparkplug_b/sparkplug_b.proto).
#
# Run with the project's venv: grpcio-tools is pinned in pyproject.toml's test extra so that
# the protoc it bundles writes gencode for the protobuf major we pin at run time (gencode
# 7.35.x for the protobuf>=7.35.1,<8 runtime; a mismatch fails at import, see PITFALLS).
#   daemons/core/sparkplug/regenerate.sh [PYTHON]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${1:-python3}
cd "$here"
"$python" -m grpc_tools.protoc -I. --python_out=. sparkplug_b.proto
echo "regenerated $here/sparkplug_b_pb2.py with $("$python" -m grpc_tools.protoc --version)"
