#!/usr/bin/env bash
# Lints the Dockerfile with dockerfile-utils (the linter of the Docker language server that
# editors use): instructions, flags, arguments, stage references. hadolint is not packaged for
# Debian 12; dockerfile-utils comes from the npm registry, pinned.
#
#   packaging/lint-dockerfile.sh [Dockerfile]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dockerfile=${1:-$repo/Dockerfile}
version=0.16.3

tools="${TMPDIR:-/tmp}/vtap-collector-dockerfile-utils-$version"
if [ ! -x "$tools/node_modules/.bin/dockerfile-utils" ]; then
    npm install --prefix "$tools" --no-audit --no-fund --no-save --loglevel=error "dockerfile-utils@$version" >&2
fi
"$tools/node_modules/.bin/dockerfile-utils" lint "$dockerfile"
echo "lint-dockerfile: $dockerfile has no problems (dockerfile-utils $version)" >&2
