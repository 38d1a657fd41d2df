#!/usr/bin/env bash
# Re-create the vendored ONNX Runtime Web files from the npm package (needs npm; users never run
# this: the files are committed). Copies only what the single-threaded WebAssembly backend loads:
#   ort.wasm.bundle.min.mjs      the JS API with the Emscripten glue bundled in (an ES module)
#   ort-wasm-simd-threaded.wasm  the runtime; with numThreads = 1 it needs no SharedArrayBuffer
# and writes their SHA-256 to SHA256SUMS (tests/test_onnx_export.py checks them).
# The npm package ships no LICENSE file (package.json says "MIT"); LICENSE here is the upstream
# repository's MIT licence text, kept as committed.
set -euo pipefail
VERSION="${1:-1.30.0}"
FILES=(ort.wasm.bundle.min.mjs ort-wasm-simd-threaded.wasm)
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "onnxruntime-web@${VERSION}" >/dev/null && tar xzf ./*.tgz)
license="$(node -p "require('$work/package/package.json').license")"
[ "$license" = "MIT" ] || { echo "onnxruntime-web@${VERSION} is licensed $license, not MIT" >&2; exit 1; }
for f in "${FILES[@]}"; do cp "$work/package/dist/$f" "$here/$f"; done
(cd "$here" && sha256sum "${FILES[@]}" > SHA256SUMS)
sed -i "s/^Version: .*/Version: ${VERSION}/" "$here/README.md"
echo "vendored onnxruntime-web ${VERSION}:"; cat "$here/SHA256SUMS"
