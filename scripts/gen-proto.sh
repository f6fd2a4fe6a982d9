#!/usr/bin/env bash
# Regenerates the TypeScript types of proto/vswap/v1/*.proto into proto/generated.
# With --check, fails when the committed files differ from what would be generated.
set -euo pipefail
cd "$(dirname "$0")/.."
out=proto/generated
target=$out
if [[ "${1:-}" == "--check" ]]; then
  target=$(mktemp -d)
  trap 'rm -rf "$target"' EXIT
fi
rm -rf "${target:?}"/vswap "$target"/*.ts 2>/dev/null || true
npx proto-loader-gen-types --grpcLib=@grpc/grpc-js --longs=Number --enums=String \
  --defaults --oneofs -I proto -O "$target" vswap/v1/coordinator.proto vswap/v1/backend.proto >/dev/null
if [[ "${1:-}" == "--check" ]]; then
  if ! diff -r "$out" "$target" >/dev/null; then
    echo "proto/generated is stale: run 'npm run proto' and commit the result" >&2
    diff -r "$out" "$target" | head -20 >&2
    exit 1
  fi
  echo "proto/generated is up to date"
fi
