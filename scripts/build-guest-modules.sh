#!/usr/bin/env bash
# Rebuilds the committed WebAssembly modules of the oxibase-guest examples
# (crates/guest/modules/*.wasm), which tests use where the wasm32 target cannot be installed.
# Needs: rustup target add wasm32-unknown-unknown
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=target/guest CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true
cargo build -p oxibase-guest --examples --release --target wasm32-unknown-unknown
for example in transfer queue; do
  cp "target/guest/wasm32-unknown-unknown/release/examples/$example.wasm" "crates/guest/modules/$example.wasm"
done
ls -l crates/guest/modules
