#!/usr/bin/env bash
# Re-create the vendored ONNX Runtime Web files from the npm package (needs npm; users never run
# this: the files are committed). Copies only what the single-threaded WebAssembly backend loads:
#   ort.wasm.bundle.min.mjs         the JS API with the Emscripten glue bundled in (an ES module)
#   ort-wasm-simd-threaded.wasm.gz  the runtime (with numThreads = 1 it needs no
#                                   SharedArrayBuffer), gzipped once here: Streamlit would gzip the
#                                   14 MB .wasm again on every request, about 0.4 s of server CPU
#                                   per student (static/components/runtime.js decompresses it)
# and writes their SHA-256 to SHA256SUMS, with the npm package's .wasm as it is inside the .gz
# (tests/test_onnx_export.py checks all three).
# The npm package ships no LICENSE file (package.json says "MIT"); LICENSE here is the upstream
# repository's MIT licence text, kept as committed.
set -euo pipefail
VERSION="${1:-1.30.0}"
MJS=ort.wasm.bundle.min.mjs
WASM=ort-wasm-simd-threaded.wasm
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "onnxruntime-web@${VERSION}" >/dev/null && tar xzf ./*.tgz)
license="$(node -p "require('$work/package/package.json').license")"
[ "$license" = "MIT" ] || { echo "onnxruntime-web@${VERSION} is licensed $license, not MIT" >&2; exit 1; }
cp "$work/package/dist/$MJS" "$here/$MJS"
gzip -9 -n -c "$work/package/dist/$WASM" > "$here/$WASM.gz"
(cd "$work/package/dist" && sha256sum "$MJS" "$WASM") > "$here/SHA256SUMS"
(cd "$here" && sha256sum "$WASM.gz") >> "$here/SHA256SUMS"
sed -i "s/^Version: .*/Version: ${VERSION}/" "$here/README.md"
echo "vendored onnxruntime-web ${VERSION}:"; cat "$here/SHA256SUMS"
