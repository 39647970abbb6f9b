#!/usr/bin/env bash
# Vendors Swagger UI's browser files from npm's swagger-ui-dist into static/vendor/swagger-ui/,
# which /docs serves (docs/decisions/0109-swagger-ui-vendored.md). Needs npm and the registry;
# npm checks the tarball against the registry's integrity hash. Only what the page loads and the
# licences are kept: no source maps, no index.html, no package.json (nothing to `npm install`).
#   scripts/update_swagger_ui.sh 5.35.0     (then run tests/integration/test_openapi.py)
set -euo pipefail
VERSION=${1:?usage: scripts/update_swagger_ui.sh <swagger-ui-dist version, e.g. 5.35.0>}
if ! [[ $VERSION =~ ^([0-9]+)\.[0-9]+\.[0-9]+$ ]] || ((BASH_REMATCH[1] < 5)); then
  echo "need an exact version, 5.0.0 or later (Swagger UI 4 cannot read OpenAPI 3.1)" >&2
  exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=$ROOT/static/vendor/swagger-ui
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

(cd "$WORK" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
tar -xzf "$WORK/swagger-ui-dist-$VERSION.tgz" -C "$WORK"
if ! grep -q "PACKAGE_VERSION:\"$VERSION\"" "$WORK/package/swagger-ui-bundle.js"; then
  echo "swagger-ui-bundle.js does not say it is $VERSION" >&2
  exit 1
fi

rm -rf "$TARGET"
mkdir -p "$TARGET"
for name in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
  cp "$WORK/package/$name" "$TARGET/$name"
done
echo "$VERSION" >"$TARGET/VERSION"
echo "static/vendor/swagger-ui: swagger-ui-dist $VERSION"
