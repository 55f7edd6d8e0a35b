#!/usr/bin/env bash
# The test command. It does its own set-up, so on a machine with only the .NET 10 SDK (Debian, root or sudo) this
# one command is all it takes:
#   - installs Debian's `chromium`, `bubblewrap`, `git`, `nodejs`, `npm`, `rabbitmq-server`, `iproute2` and `python3` when missing (the dashboard's
#     browser tests drive chromium, never a downloaded browser; the bubblewrap driver's tests run bwrap; the constellation's
#     tests start a RabbitMQ of their own, never the system's service, which the install is kept from starting), as root or
#     through sudo; when it cannot, it says in one line what to install and stops;
#   - installs Claude Code (the version pinned below) from npm into a cache, for the tests that drive the real CLI
#     against a fake Messages API, and exports its binary as HIVE_TEST_CLAUDE; when npm cannot install it, it says so
#     in one line and exports the reason as HIVE_TEST_CLAUDE_SKIP: those tests are then skipped, never failed nor passed;
#   - fetches promtool (only the binary, out of Debian's prometheus package) into the same cache, for the metrics test,
#     and exports it as HIVE_TEST_PROMTOOL;
#   - installs TypeScript (the version pinned below) from npm into the same cache, for the test that type-checks the
#     dashboard's modules (tsc --noEmit -p src/Host/jsconfig.json), and exports its tsc as HIVE_TEST_TSC (or why not as
#     HIVE_TEST_TSC_SKIP: that test is then skipped);
#   - restores and builds the solution with warnings as errors;
#   - runs every test (`dotnet test`, extra arguments passed on: ./test.sh --filter Dashboard) with a trx logger,
#     ends with the plain line "N passed, N failed" counted from it (after a line "N skipped" when some were), and
#     exits with dotnet test's status.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE=1

fail() { echo "test.sh: $*" >&2; exit 1; }

command -v dotnet >/dev/null || fail "the .NET 10 SDK is not on PATH: install it (https://dotnet.microsoft.com/download) and run ./test.sh again"

# How to run a command as root: directly, through sudo (which must fail at once rather than wait for a password when
# there is no terminal to type one on), or not at all (can_root=0).
as_root=()
can_root=1
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then can_root=0; elif [ -t 0 ]; then as_root=(sudo); else as_root=(sudo -n); fi
fi

# Debian packages the tests drive for real: chromium (the dashboard's browser tests; never a downloaded browser),
# bubblewrap (the bubblewrap driver's agents and isolation tests) and git (the meta repo).
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/bwrap ] || missing+=(bubblewrap)
command -v git >/dev/null || missing+=(git)
# node and npm: the MCP inspector's CLI (an MCP client this project did not write) drives `hivectl mcp` in a test.
{ command -v node >/dev/null && command -v npm >/dev/null; } || missing+=(nodejs npm)
# rabbitmq-server: the constellation's tests (issue 33) run its broker as a child process of their own (tests/Hive.Testing/RabbitMqNode.cs).
rabbitmq=/usr/lib/rabbitmq/bin/rabbitmq-server
[ -x "$rabbitmq" ] || missing+=(rabbitmq-server)
# iproute2 (ip) and python3: the sealed sandbox's tests (issue 44) bring a sealed process agent's loopback up with ip, make
# a network of their own (a veth into a network namespace, tests/Hive.Testing/TestNetwork.cs), and probe from inside
# an agent with python3 (UDP, AF_VSOCK). A slim Debian image has neither.
{ [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || [ -x /bin/ip ]; } || missing+=(iproute2)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  need="the tests need Debian's ${missing[*]}: install it (apt-get install ${missing[*]}) and run ./test.sh again"
  command -v apt-get >/dev/null || fail "$need"
  [ "$can_root" -eq 1 ] || fail "$need"
  echo "test.sh: installing Debian's ${missing[*]} for the tests"
  # A package's postinst starts its service (rabbitmq-server, and erlang-base's epmd) unless policy-rc.d refuses: the
  # tests start their own broker, never the system's, so while apt runs a policy-rc.d refuses every start (exit 101, as
  # Docker's Debian images have it). One the machine already has is left as it is; ours is removed after, even on failure.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ] &&
     ${as_root[@]+"${as_root[@]}"} sh -c 'printf "#!/bin/sh\n# ./test.sh: no service starts while it installs packages\nexit 101\n" >"$1" && chmod 755 "$1"' sh "$policy"; then
    trap '${as_root[@]+"${as_root[@]}"} rm -f "$policy"' EXIT
  fi
  if ! { ${as_root[@]+"${as_root[@]}"} apt-get update -qq &&
         ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; }; then
    fail "$need"
  fi
  if [ -n "$(trap -p EXIT)" ]; then ${as_root[@]+"${as_root[@]}"} rm -f "$policy"; trap - EXIT; fi
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/bwrap ] && command -v git >/dev/null && command -v node >/dev/null && command -v npm >/dev/null &&
    [ -x "$rabbitmq" ] || fail "$need"
fi

# Claude Code, for the tests that drive the real CLI against a fake of the Messages API (the provider cannot be
# reached from here). Its version is pinned here only. npm puts the native binary in the platform's package
# (@anthropic-ai/claude-code-linux-x64/claude, say); bin/claude.exe is a copy of it only once npm has run the
# package's postinstall, a stub otherwise, so the platform's binary is the one used.
claude_version=2.1.328
# As root the cache is /var/cache/hive-tests: a root host runs its agents as uids of their own, which must reach the
# binary (root's home is closed to them).
if [ "$(id -u)" -eq 0 ]; then default_cache=/var/cache/hive-tests; else default_cache=${XDG_CACHE_HOME:-~/.cache}/hive-tests; fi
claude_cache=${HIVE_TEST_CACHE:-$default_cache}/claude-code-$claude_version
claude_binary() {
  local bin
  for bin in "$claude_cache"/node_modules/@anthropic-ai/claude-code-*/claude "$claude_cache/node_modules/.bin/claude"; do
    if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qF "$claude_version"; then
      echo "$(cd "$(dirname "$bin")" && pwd -P)/$(basename "$bin")"
      return 0
    fi
  done
  return 1
}
unset HIVE_TEST_CLAUDE HIVE_TEST_CLAUDE_SKIP
if ! claude=$(claude_binary); then
  echo "test.sh: installing Claude Code $claude_version from npm into $claude_cache"
  (umask 022 && mkdir -p "$claude_cache")
  if npm_output=$(umask 022 && npm install --no-audit --no-fund --loglevel=error --fetch-retries=1 --prefix "$claude_cache" \
                    "@anthropic-ai/claude-code@$claude_version" 2>&1) && claude=$(claude_binary); then
    :
  else
    why=$({ grep -m1 -E '[A-Za-z]Error: ' <<<"$npm_output" || grep -m1 '^npm error' <<<"$npm_output" || true; } |
          sed -E 's/^npm error //; s/^ +//' | cut -c1-200)
    export HIVE_TEST_CLAUDE_SKIP="npm install @anthropic-ai/claude-code@$claude_version failed: ${why:-no binary that answers --version}"
    echo "test.sh: Claude Code could not be installed from npm ($HIVE_TEST_CLAUDE_SKIP); the tests that drive it are skipped"
    claude=
  fi
fi
[ -z "$claude" ] || export HIVE_TEST_CLAUDE="$claude"

# npm_pinned VAR PACKAGE VERSION FILE: PACKAGE@VERSION from npm into the test cache (umask 022: the agents' own uids read
# it), pinned here only; exports VAR=<cache>/node_modules/FILE, or, when it cannot be had, the reason as VAR_SKIP (the tests
# that drive it are then skipped, saying why).
npm_pinned() {
  local var=$1 package=$2 version=$3 file=$4 cache npm_output why
  cache=${HIVE_TEST_CACHE:-$default_cache}/${package##*/}-$version
  unset "$var" "${var}_SKIP"
  if ! grep -qF "\"version\": \"$version\"" "$cache/node_modules/$package/package.json" 2>/dev/null; then
    echo "test.sh: installing $package $version from npm into $cache"
    (umask 022 && mkdir -p "$cache")
    if ! npm_output=$(umask 022 && npm install --no-audit --no-fund --loglevel=error --fetch-retries=1 --prefix "$cache" \
                        "$package@$version" 2>&1); then
      why=$({ grep -m1 '^npm error' <<<"$npm_output" || true; } | sed -E 's/^npm error //' | cut -c1-200)
      export "${var}_SKIP=npm install $package@$version failed: ${why:-see npm}"
      echo "test.sh: $package could not be installed from npm (${why:-see npm}); the tests that drive it are skipped"
      return 0
    fi
  fi
  if [ -f "$cache/node_modules/$file" ]; then export "$var=$cache/node_modules/$file"
  else export "${var}_SKIP=$package $version has no $file here (its native build is for linux-x64 only)"; fi
}
# Zed's ACP adapters, for the tests that run them as agents from the claude-acp and codex presets: Claude's (it bundles
# its own Claude Code; its script, run by node) and Codex's (Codex built in; the native binary of the optional dependency
# for this platform, run directly: the Node launcher beside it would only spawn it).
npm_pinned HIVE_TEST_CLAUDE_ACP @zed-industries/claude-agent-acp 0.23.1 @zed-industries/claude-agent-acp/dist/index.js
npm_pinned HIVE_TEST_CODEX_ACP @zed-industries/codex-acp 0.16.0 @zed-industries/codex-acp-linux-x64/bin/codex-acp
# The CLIs that speak ACP themselves, for the opencode and gemini presets: opencode's native (Bun-compiled) binary, run
# directly, and Gemini CLI's bundle, run by node.
npm_pinned HIVE_TEST_OPENCODE opencode-ai 1.18.33 opencode-linux-x64/bin/opencode
# Gemini CLI needs node 20 or later (its engines; Debian 12's own nodejs is 18): an older node skips its tests, saying so.
if node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  npm_pinned HIVE_TEST_GEMINI @google/gemini-cli 0.61.0 @google/gemini-cli/bundle/gemini.js
else
  unset HIVE_TEST_GEMINI
  export HIVE_TEST_GEMINI_SKIP="Gemini CLI 0.61.0 needs node 20 or later; this node is $(node --version 2>/dev/null || echo missing)"
fi

# promtool (Prometheus' own checker of the text exposition), for the metrics test. Debian has it only inside the
# `prometheus` package, whose installation would also set up and start a service: the .deb is downloaded instead and
# only usr/bin/promtool is taken out of it, into the cache. Exported as HIVE_TEST_PROMTOOL; when it cannot be had,
# HIVE_TEST_PROMTOOL_MISSING says why and the metrics test fails with that reason (it never passes unchecked).
promtool_cache=${HIVE_TEST_CACHE:-$default_cache}/promtool
unset HIVE_TEST_PROMTOOL HIVE_TEST_PROMTOOL_MISSING
promtool_works() { [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }
if command -v promtool >/dev/null && promtool_works "$(command -v promtool)"; then
  export HIVE_TEST_PROMTOOL="$(command -v promtool)"
elif promtool_works "$promtool_cache/promtool"; then
  export HIVE_TEST_PROMTOOL="$promtool_cache/promtool"
else
  echo "test.sh: fetching promtool (the binary only, from Debian's prometheus package) into $promtool_cache"
  deb_dir=$(mktemp -d)
  # A fresh machine has no package lists yet: `apt-get download` needs them, so they are updated once if it fails.
  if command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null &&
     { (cd "$deb_dir" && apt-get download -qq prometheus >/dev/null 2>&1) ||
       { [ "$can_root" -eq 1 ] && ${as_root[@]+"${as_root[@]}"} apt-get update -qq &&
         (cd "$deb_dir" && apt-get download -qq prometheus >/dev/null 2>&1); }; } &&
     dpkg-deb -x "$deb_dir"/prometheus_*.deb "$deb_dir/root" &&
     (umask 022 && mkdir -p "$promtool_cache") && install -m 0755 "$deb_dir/root/usr/bin/promtool" "$promtool_cache/promtool" &&
     promtool_works "$promtool_cache/promtool"; then
    export HIVE_TEST_PROMTOOL="$promtool_cache/promtool"
  else
    export HIVE_TEST_PROMTOOL_MISSING="promtool could not be fetched (apt-get download prometheus, then dpkg-deb -x; needs apt-get and dpkg-deb)"
    echo "test.sh: $HIVE_TEST_PROMTOOL_MISSING; the metrics test will fail"
  fi
  rm -rf "$deb_dir"
fi

# TypeScript, for the test that type-checks the dashboard's browser modules (// @ts-check, src/Host/jsconfig.json).
# Its version is pinned here only.
typescript_version=7.0.2
typescript_cache=${HIVE_TEST_CACHE:-$default_cache}/typescript-$typescript_version
tsc_works() { [ -x "$1" ] && "$1" --version 2>/dev/null | grep -qF "$typescript_version"; }
unset HIVE_TEST_TSC HIVE_TEST_TSC_SKIP
tsc="$typescript_cache/node_modules/typescript/bin/tsc"
if ! tsc_works "$tsc"; then
  echo "test.sh: installing TypeScript $typescript_version from npm into $typescript_cache"
  (umask 022 && mkdir -p "$typescript_cache")
  if ! npm_output=$(umask 022 && npm install --no-audit --no-fund --loglevel=error --fetch-retries=1 --prefix "$typescript_cache" \
                      "typescript@$typescript_version" 2>&1) || ! tsc_works "$tsc"; then
    why=$({ grep -m1 '^npm error' <<<"$npm_output" || true; } | sed -E 's/^npm error //; s/^ +//' | cut -c1-200)
    export HIVE_TEST_TSC_SKIP="npm install typescript@$typescript_version failed: ${why:-no tsc that answers --version}"
    echo "test.sh: TypeScript could not be installed from npm ($HIVE_TEST_TSC_SKIP); the dashboard's type check is skipped"
    tsc=
  fi
fi
[ -z "$tsc" ] || export HIVE_TEST_TSC="$tsc"

if ! dotnet build Hive.sln -warnaserror; then
  echo "test.sh: the build failed, so no tests ran"
  echo "0 passed, 1 failed"
  exit 1
fi

# The results file to count from (TestResults/ is ignored by git).
results="$PWD/TestResults"
rm -f "$results/results.trx"
set +e
dotnet test Hive.sln --no-build --logger "trx;LogFileName=results.trx" --results-directory "$results" "$@"
status=$?
set -e

trx="$results/results.trx"
if [ ! -f "$trx" ]; then
  echo "test.sh: no test results were written"
  echo "0 passed, 1 failed"
  exit $(( status == 0 ? 1 : status ))
fi
counters=$(grep -o '<Counters [^>]*>' "$trx")
passed=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
failed=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
total=$(sed -E 's/.* total="([0-9]+)".*/\1/' <<<"$counters")
# Skipped tests are not in the Counters (their notExecuted stays 0): each is a result with outcome="NotExecuted".
skipped=$({ grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' "$trx" || true; } | wc -l)
if [ "$total" = 0 ]; then
  echo "test.sh: no tests ran"
  echo "0 passed, 1 failed"
  exit 1
fi
[ "$skipped" -eq 0 ] || echo "$skipped skipped"
echo "$passed passed, $failed failed"
exit $status
