#!/usr/bin/env bash
# The device check: which onnxruntime execution providers work on this machine, and the scale benchmark on
# each of them. Documented in BENCHMARKS.md ("Devices"). Installs nothing from the network.
#
#   scripts/device-check.sh pack   on a machine with the repository's node_modules (this one): builds, and
#                                  packs Node, npm, the builds and the runtime node_modules for linux-x64 into
#                                  .device-check/bundle.tar.xz (git ignores it through .git/info/exclude), for a
#                                  machine that has neither Node nor a network.
#   scripts/device-check.sh [run]  on the GPU machine, from the repository root: unpacks the bundle when Node or
#                                  node_modules are missing, builds when the toolchain is there (else uses the
#                                  bundle's builds), records the machine, lists and probes the providers, and runs
#                                  the scale benchmark on each GPU provider, then on the CPU. Everything goes
#                                  under $OUT (default ./device-check-out), six files:
#                                    device-check.log  this script's whole output
#                                    machine.txt       GPU, driver, CPU, Node, the CUDA and Vulkan libraries found
#                                    providers.json    listSupportedBackends, the provider libraries in
#                                                      onnxruntime-node's bin folder, and each provider's probe
#                                    bench.log         the scale benchmark's output, one section per provider
#                                    BENCHMARKS.md     as the benchmark left it, if it changed it
#                                    summary.md        one table: provider, probe, benchmark exit code
#
# With the device tool of this workplace (one H200, 16 cores, no network; the working tree travels, node_modules
# does not, at most 64 MiB): run `scripts/device-check.sh pack` here, then `run` with carry [".device-check"] and
# the command `scripts/device-check.sh`.
#
# What it will find, from the onnxruntime-node 1.30.0 npm package this repository installs (its bin/napi-v6/
# linux/x64 folder holds libonnxruntime.so.1 and onnxruntime_binding.node, nothing else): listSupportedBackends
# lists cpu, webgpu, cuda and tensorrt, the last two with bundled: false, because their provider libraries
# (libonnxruntime_providers_shared.so, libonnxruntime_providers_cuda.so, libonnxruntime_providers_tensorrt.so)
# are downloaded from NuGet by the package's install script, which this repository turns off. So on a GPU machine
# without them the cuda probe and the cuda benchmark end with the onnx engine's ConfigError ("could not start the
# "cuda" execution provider ... ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node"); even with them, the
# CUDA 12 provider needs CUDA 12's runtime, cuBLAS and cuDNN 9 libraries on the machine (machine.txt lists what
# ldconfig finds). webgpu is in the package; it needs a Vulkan loader and driver that Dawn can open (probed).
#
# The scale benchmark's interface assumed here (packages/backends/bench/scale.mjs was being written when this
# script was): `npm run bench:scale` from the repository root (or, if the root has no such script,
# `npm run bench:scale -w @azr/backends`), with the execution providers in the environment variable
# AZR_EXECUTION_PROVIDERS as a comma list (e.g. AZR_EXECUTION_PROVIDERS=cuda). DEVICE_CHECK_BENCH_ARGS adds
# arguments after `--`, in which the text {provider} is replaced by the provider (e.g.
# DEVICE_CHECK_BENCH_ARGS='--execution-provider {provider}' if the benchmark takes a flag instead). A benchmark that
# reads neither is run on the CPU alone: its figures under a GPU provider's name would be the CPU's. As this script
# was written, scale.mjs read neither (it runs the onnx engine on 2 CPU threads); within a 15-minute device
# budget, DEVICE_CHECK_BENCH_ARGS='--models smollm2-135m --repeats 1' keeps a run short (its own flags).
#
# Settings (environment): DEVICE_CHECK_BENCH_TIMEOUT seconds per benchmark run (default 240);
# DEVICE_CHECK_CPU_BENCH=0 skips the CPU run; DEVICE_CHECK_SKIP_BUILD=1 skips the build in both modes.

set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
mode="${1:-run}"
bundle_dir="$root/.device-check"
bundle="$bundle_dir/bundle.tar.xz"

say() { printf '[device-check] %s\n' "$*"; }

pack() {
  local node_bin npm_dir staging exclude
  node_bin="$(command -v node)" || { say "pack needs node on the PATH"; exit 1; }
  node_bin="$(readlink -f "$node_bin")"
  npm_dir="$(dirname "$node_bin")/../lib/node_modules/npm"
  [ -d "$npm_dir" ] || npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."
  [ -f "$npm_dir/bin/npm-cli.js" ] || { say "cannot find npm's folder beside $node_bin"; exit 1; }
  [ -d node_modules ] || { say "pack needs node_modules: run npm ci first"; exit 1; }
  if [ "${DEVICE_CHECK_SKIP_BUILD:-0}" != 1 ]; then
    say "building"
    npx turbo run build --output-logs=errors-only || { say "the build failed"; exit 1; }
  fi
  mkdir -p "$bundle_dir"
  exclude_file="$(git rev-parse --git-path info/exclude 2>/dev/null)"
  if [ -n "$exclude_file" ] && ! grep -qx '/.device-check/' "$exclude_file" 2>/dev/null; then
    mkdir -p "$(dirname "$exclude_file")"
    echo '/.device-check/' >>"$exclude_file"
  fi
  # Node and npm as a self-contained prefix: node/bin/{node,npm,npx}, node/lib/node_modules/npm.
  staging="$(mktemp -d)"
  mkdir -p "$staging/.device-check/node/bin" "$staging/.device-check/node/lib/node_modules"
  cp "$node_bin" "$staging/.device-check/node/bin/node"
  cp -r "$(readlink -f "$npm_dir")" "$staging/.device-check/node/lib/node_modules/npm"
  for tool in npm npx; do
    printf '#!/bin/sh\nexec "$(dirname "$0")/node" "$(dirname "$0")/../lib/node_modules/npm/bin/%s-cli.js" "$@"\n' \
      "$tool" >"$staging/.device-check/node/bin/$tool"
    chmod +x "$staging/.device-check/node/bin/$tool"
  done
  # The runtime packages for linux-x64: the other platforms' onnxruntime binaries, the build, lint and test tools,
  # the executor's runtimes (isolated-vm, Pyodide: the benchmark runs no programs) and source maps stay behind,
  # so that the bundle (about 50 MiB) fits in the 64 MiB that travel with the working tree.
  exclude="$(mktemp)"
  cat >"$exclude" <<'EOF'
node_modules/onnxruntime-node/bin/napi-v6/darwin
node_modules/onnxruntime-node/bin/napi-v6/win32
node_modules/onnxruntime-node/bin/napi-v6/linux/arm64
node_modules/@biomejs
node_modules/@turbo
node_modules/turbo
node_modules/typescript
node_modules/@rolldown
node_modules/playwright-core
node_modules/prettier
node_modules/@esbuild
node_modules/esbuild
node_modules/lightningcss*
node_modules/rollup
node_modules/@rollup
node_modules/vite
node_modules/vitest
node_modules/@vitest
node_modules/@changesets
node_modules/fast-check
node_modules/core-js
node_modules/.cache
node_modules/pyodide
node_modules/isolated-vm
node_modules/protobufjs/cli
*.map
EOF
  say "packing (xz; a few minutes)"
  tar -cf - --exclude-from="$exclude" node_modules packages/*/dist -C "$staging" .device-check/node |
    xz -T0 -6 >"$bundle.partial" || { say "packing failed"; rm -f "$bundle.partial"; exit 1; }
  mv "$bundle.partial" "$bundle"
  git rev-parse HEAD >"$bundle_dir/commit" 2>/dev/null || true
  rm -rf "$staging" "$exclude"
  say "wrote $bundle ($(du -m "$bundle" | cut -f1) MiB, built from $(cat "$bundle_dir/commit" 2>/dev/null))"
  say "next: the device tool's run with carry [\".device-check\"] and the command scripts/device-check.sh"
}

run() {
  OUT="${OUT:-$root/device-check-out}"
  mkdir -p "$OUT"
  exec > >(tee "$OUT/device-check.log") 2>&1
  local started=$SECONDS

  # Node and node_modules: the machine's own, else the bundle's.
  if { ! command -v node >/dev/null || [ ! -d node_modules ]; } && [ -f "$bundle" ]; then
    say "unpacking $bundle (built from commit $(cat "$bundle_dir/commit" 2>/dev/null || echo unknown))"
    tar -xJf "$bundle" -C "$root" || { say "unpacking failed"; exit 1; }
  fi
  [ -x "$bundle_dir/node/bin/node" ] && ! command -v node >/dev/null && export PATH="$bundle_dir/node/bin:$PATH"
  if ! command -v node >/dev/null || [ ! -d node_modules ]; then
    say "no Node or no node_modules here, and no bundle: run scripts/device-check.sh pack where they are, and carry .device-check"
    exit 1
  fi

  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit of the bundle: $(cat "$bundle_dir/commit" 2>/dev/null || echo 'none (no bundle)')"
    echo "node: $(node --version) at $(command -v node)"
    echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "memory: $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GiB", $2/1048576}')"
    if command -v nvidia-smi >/dev/null; then
      echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)"
      nvidia-smi 2>&1 | grep -m1 'CUDA Version' || true
    else
      echo "gpu: no nvidia-smi on this machine"
    fi
    echo "libraries ldconfig finds (CUDA runtime, cuBLAS, cuDNN, Vulkan):"
    ldconfig -p 2>/dev/null | grep -E 'libcudart|libcublas\.|libcudnn\.|libvulkan' | sed 's/^/  /' || true
    echo "onnxruntime-node: $(node -p "require('onnxruntime-node/package.json').version" 2>&1)"
    echo "its bin folder for $(node -p 'process.platform + "/" + process.arch'):"
    ls -la "node_modules/onnxruntime-node/bin/napi-v6/$(node -p 'process.platform + "/" + process.arch')" 2>&1 |
      sed 's/^/  /'
  } | tee "$OUT/machine.txt"

  if [ "${DEVICE_CHECK_SKIP_BUILD:-0}" != 1 ] && [ -x node_modules/.bin/turbo ] && [ -x node_modules/.bin/tsup ]; then
    say "building"
    npx turbo run build --output-logs=errors-only || { say "the build failed"; exit 1; }
  elif [ -f packages/backends/dist/onnx/index.js ]; then
    say "no build toolchain here (the bundle leaves it behind): using the builds in packages/*/dist"
  else
    say "no build toolchain and no builds in packages/*/dist"
    exit 1
  fi

  # The providers onnxruntime-node lists, the provider libraries beside it, and a probe of each: the tiny preset
  # on that provider alone, 16 greedy tokens, compared with the CPU's.
  mkdir -p "$bundle_dir"
  cat >"$bundle_dir/probe.mjs" <<'EOF'
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createOnnxPolicy } from '@azr/backends/onnx';

const require = createRequire(join(process.cwd(), 'package.json'));
const runtime = require('onnxruntime-node');
const folder = join(
  dirname(require.resolve('onnxruntime-node/package.json')),
  'bin/napi-v6',
  process.platform,
  process.arch,
);
const listed = runtime.listSupportedBackends();
const request = { prompts: ['function f(x) {'], seed: 0, greedy: true, maxTokens: 16, temperature: 1, topP: 1 };
async function probe(provider) {
  const started = performance.now();
  let policy;
  try {
    policy = await createOnnxPolicy({ model: { preset: 'tiny', seed: 0 }, executionProviders: [provider] });
    const opened = performance.now() - started;
    const { completions } = await policy.doGenerate(request);
    const tokens = completions[0].tokenIds;
    return { provider, ok: true, openMs: Math.round(opened), generateMs: Math.round(performance.now() - started - opened), tokens };
  } catch (error) {
    return { provider, ok: false, error: `${error.name}: ${error.message}` };
  } finally {
    await policy?.doDispose();
  }
}
const probes = [];
for (const { name } of listed) probes.push(await probe(name));
const cpu = probes.find((entry) => entry.provider === 'cpu');
for (const entry of probes)
  if (entry.ok && cpu?.ok) entry.sameTokensAsCpu = JSON.stringify(entry.tokens) === JSON.stringify(cpu.tokens);
const report = { listSupportedBackends: listed, binFolder: folder, binFiles: readdirSync(folder), probes };
console.log(JSON.stringify(report, null, 2));
EOF
  say "probing the providers"
  node "$bundle_dir/probe.mjs" >"$OUT/providers.json" 2>"$bundle_dir/probe.err"
  local probe_code=$?
  cat "$OUT/providers.json"
  grep -v '^\s*$' "$bundle_dir/probe.err" | tail -20
  [ $probe_code -eq 0 ] || say "the probe failed (exit $probe_code)"
  local gpu_ok
  gpu_ok="$(node -e "
    const report = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
    console.log(report.probes.filter((p) => p.ok && p.provider !== 'cpu').map((p) => p.provider).join(' '));
  " "$OUT/providers.json" 2>/dev/null)"

  # The scale benchmark: on cuda whatever its probe said (its error is part of what the check reports), on every
  # other GPU provider that probed well, then on the CPU.
  local bench=(npm run bench:scale)
  if ! node -e "process.exit(require('./package.json').scripts?.['bench:scale'] ? 0 : 1)"; then
    bench=(npm run bench:scale -w @azr/backends)
    node -e "process.exit(require('./packages/backends/package.json').scripts?.['bench:scale'] ? 0 : 1)" ||
      bench=()
  fi
  cp BENCHMARKS.md "$bundle_dir/BENCHMARKS.before.md" 2>/dev/null || true
  local providers=(cuda)
  for provider in $gpu_ok; do [ "$provider" = cuda ] || providers+=("$provider"); done
  [ "${DEVICE_CHECK_CPU_BENCH:-1}" = 0 ] || providers+=(cpu)
  local timeout_s="${DEVICE_CHECK_BENCH_TIMEOUT:-240}"
  declare -A bench_code=()
  # A benchmark that does not read the providers would run on the CPU under a GPU provider's name: run it on the
  # GPU providers only when it reads AZR_EXECUTION_PROVIDERS or DEVICE_CHECK_BENCH_ARGS names {provider}.
  local reads_providers=0
  grep -q AZR_EXECUTION_PROVIDERS packages/backends/bench/scale.mjs 2>/dev/null && reads_providers=1
  [[ "${DEVICE_CHECK_BENCH_ARGS:-}" == *"{provider}"* ]] && reads_providers=1
  : >"$OUT/bench.log"
  for provider in "${providers[@]}"; do
    if [ "$provider" != cpu ] && [ $reads_providers = 0 ]; then
      say "bench:scale does not read AZR_EXECUTION_PROVIDERS (and DEVICE_CHECK_BENCH_ARGS names no {provider}): not run on $provider, whose figures would be the CPU's"
      bench_code[$provider]="not run (the benchmark takes no provider)"
      continue
    fi
    if [ ${#bench[@]} -eq 0 ]; then
      say "no bench:scale script in package.json or packages/backends/package.json: no benchmark run"
      bench_code[$provider]="not run (no bench:scale)"
      continue
    fi
    local args=()
    [ -z "${DEVICE_CHECK_BENCH_ARGS:-}" ] || read -r -a args <<<"${DEVICE_CHECK_BENCH_ARGS//\{provider\}/$provider}"
    say "bench:scale on $provider (at most ${timeout_s} s): AZR_EXECUTION_PROVIDERS=$provider ${bench[*]}${args[*]:+ -- ${args[*]}}"
    {
      echo "=== AZR_EXECUTION_PROVIDERS=$provider ${bench[*]}${args[*]:+ -- ${args[*]}} ($(date -u +%H:%M:%SZ))"
      AZR_EXECUTION_PROVIDERS="$provider" timeout --kill-after=10 "$timeout_s" \
        "${bench[@]}" ${args[@]:+-- "${args[@]}"} 2>&1
      echo "=== exit $?"
    } | tee -a "$OUT/bench.log" | tail -15
    bench_code[$provider]="$(tail -1 "$OUT/bench.log" | sed 's/=== exit //')"
  done
  if [ -f "$bundle_dir/BENCHMARKS.before.md" ] && ! cmp -s BENCHMARKS.md "$bundle_dir/BENCHMARKS.before.md"; then
    cp BENCHMARKS.md "$OUT/BENCHMARKS.md"
  fi

  {
    echo "# Device check, $(date -u +%Y-%m-%d)"
    echo
    grep -E '^(gpu|cpu|node|onnxruntime-node):' "$OUT/machine.txt" | sed 's/^/- /'
    echo
    echo "| provider | listed | probe (tiny preset, 16 greedy tokens) | bench:scale exit (124: timed out) |"
    echo "| --- | --- | --- | --- |"
    node -e "
      const report = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
      const codes = JSON.parse(process.argv[2]);
      // Long errors keep their beginning (which provider) and their end (why).
      const shorten = (text) => (text.length <= 320 ? text : text.slice(0, 120) + ' ... ' + text.slice(-190));
      for (const { name, bundled } of report.listSupportedBackends) {
        const probe = report.probes.find((entry) => entry.provider === name);
        const outcome = probe.ok
          ? 'ok, open ' + probe.openMs + ' ms, generate ' + probe.generateMs + ' ms' + (probe.sameTokensAsCpu === false ? ', tokens differ from cpu' : '')
          : shorten(probe.error.replace(/\s+/g, ' ').replace(/\|/g, '/'));
        console.log('| ' + name + ' | ' + (bundled ? 'bundled' : 'library not bundled') + ' | ' + outcome + ' | ' + (codes[name] ?? 'not run') + ' |');
      }
    " "$OUT/providers.json" "$(for key in "${!bench_code[@]}"; do printf '%s\t%s\n' "$key" "${bench_code[$key]}"; done |
      node -e "let t='';process.stdin.on('data',(c)=>t+=c).on('end',()=>console.log(JSON.stringify(Object.fromEntries(t.trim().split('\n').filter(Boolean).map((l)=>l.split('\t'))))))")" 2>&1
    echo
    echo "Whole check: $((SECONDS - started)) s. Outputs: machine.txt, providers.json, bench.log, device-check.log."
  } | tee "$OUT/summary.md"
}

case "$mode" in
pack) pack ;;
run) run ;;
*)
  echo "usage: scripts/device-check.sh [pack|run]" >&2
  exit 2
  ;;
esac
