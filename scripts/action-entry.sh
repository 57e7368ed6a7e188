#!/usr/bin/env bash
# Entry point of the ecr-fanout GitHub Action (action.yml runs it in a composite step).
#
# 1. Picks the release binary for RUNNER_OS/RUNNER_ARCH (Linux X64 and ARM64).
# 2. When the action ref names a release (a version tag such as v1 or v1.2.3, or a commit SHA),
#    takes the release of the version in the action's Cargo.toml, if scripts/release-checksums.txt
#    lists its SHA-256: from the runner's tool cache when present and still matching, otherwise
#    downloaded from the GitHub release, checked, and cached.
#    Release tags and the commit they point at always list their checksums: the release commits
#    them on top of the commit it built from and tags that commit (CONTRIBUTING.md, "Releasing").
#    A binary that does not match is never run, whatever the ref.
# 3. Otherwise (`uses: ./`, a branch, no checksum, another OS) builds it from the action's own
#    source with `cargo install --locked --path`; a tag or SHA without a checksum also gets a
#    warning, since it names no released binary.
# 4. Runs `ecr-fanout action`, which reads the INPUT_* variables action.yml sets.
#
# ECR_FANOUT_RELEASE_BASE_URL replaces https://github.com/OWNER/REPO/releases/download (a mirror;
# the tests point it at a file:// directory). Logs and workflow commands go to stderr.
set -euo pipefail

action_path="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set; run this from action.yml}"
action_ref="${ECR_FANOUT_ACTION_REF:-}"
action_repository="${ECR_FANOUT_ACTION_REPOSITORY:-}"
checksums="$action_path/scripts/release-checksums.txt"
release_base="${ECR_FANOUT_RELEASE_BASE_URL:-https://github.com/$action_repository/releases/download}"
work_root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"

log() { printf 'ecr-fanout action: %s\n' "$*" >&2; }
warn() { printf '::warning title=ecr-fanout action::%s\n' "$*" >&2; }
fail() {
  printf '::error title=ecr-fanout action::%s\n' "$*" >&2
  exit 1
}

# The Rust target of the release binary for this runner; fails when there is none.
release_target() {
  case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64) echo aarch64-unknown-linux-musl ;;
    *) return 1 ;;
  esac
}

# Whether the ref pins a release: vN, vN.N, vN.N.N or a full commit SHA (not a branch, not `./`).
ref_pins_release() {
  [[ "$1" =~ ^v[0-9]+(\.[0-9]+){0,2}$ || "$1" =~ ^[0-9a-f]{40}$ ]]
}

# The package version in the action's Cargo.toml (the first `version =` line, in [package]).
crate_version() {
  sed -n 's/^version = "\([^"]*\)"$/\1/p' "$action_path/Cargo.toml" | head -n 1
}

# The SHA-256 the repository records for RELEASE/ASSET, or nothing.
recorded_sha256() {
  [ -f "$checksums" ] || return 0
  awk -v name="$1" '$1 !~ /^#/ && $2 == name { print $1; exit }' "$checksums"
}

sha256_of() { sha256sum "$1" | cut -d ' ' -f 1; }

# Prints the path of a verified release binary, or fails.
install_release() {
  local tag="$1" asset="$2" expected="$3"
  local arch cache_dir binary
  arch="$(printf '%s' "${RUNNER_ARCH:-unknown}" | tr '[:upper:]' '[:lower:]')"
  cache_dir="${RUNNER_TOOL_CACHE:-$work_root/tool-cache}/ecr-fanout/${tag#v}/$arch"
  binary="$cache_dir/ecr-fanout"
  if [ -f "$cache_dir.complete" ] && [ -f "$binary" ]; then
    if [ "$(sha256_of "$binary")" = "$expected" ]; then
      log "using $tag from the tool cache ($binary)"
      printf '%s\n' "$binary"
      return 0
    fi
    log "cached $binary does not match its checksum; downloading it again"
    rm -rf "$cache_dir" "$cache_dir.complete"
  fi
  local url="$release_base/$tag/$asset" download
  download="$(mktemp -d "$work_root/ecr-fanout-download.XXXXXX")"
  log "downloading $url"
  if ! curl --fail --silent --show-error --location --retry 3 --proto '=https,file' \
    --proto-redir '=https' --output "$download/$asset" "$url"; then
    rm -rf "$download"
    fail "could not download $url"
  fi
  local actual
  actual="$(sha256_of "$download/$asset")"
  if [ "$actual" != "$expected" ]; then
    rm -rf "$download"
    fail "checksum mismatch for $url: expected sha256 $expected (scripts/release-checksums.txt), got $actual; refusing to run it"
  fi
  mkdir -p "$cache_dir"
  mv "$download/$asset" "$binary"
  rm -rf "$download"
  chmod +x "$binary"
  touch "$cache_dir.complete"
  log "verified sha256 $actual and cached $binary"
  printf '%s\n' "$binary"
}

# Prints the path of a binary built from the action's source, or fails.
install_from_source() {
  local root="$work_root/ecr-fanout-source"
  command -v cargo >/dev/null 2>&1 ||
    fail "no release binary matches ref '${action_ref:-./}' and cargo is not installed; use a release tag (uses: OWNER/ecr-fanout@v1) or install Rust before this step"
  log "building from source: cargo install --locked --path $action_path"
  cargo install --locked --path "$action_path" --root "$root" >&2 ||
    fail "cargo install --locked --path $action_path failed"
  printf '%s\n' "$root/bin/ecr-fanout"
}

choose_binary() {
  local target version expected
  if ! target="$(release_target)"; then
    log "no release binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?} (Linux X64 and ARM64 only)"
  elif ! ref_pins_release "$action_ref"; then
    log "ref '${action_ref:-./}' is not a release tag or commit SHA"
  else
    version="$(crate_version)"
    expected="$(recorded_sha256 "v$version/ecr-fanout-$target")"
    if [ -n "$version" ] && [ -n "$expected" ]; then
      [[ "$expected" =~ ^[0-9a-f]{64}$ ]] ||
        fail "scripts/release-checksums.txt lists '$expected' for v$version/ecr-fanout-$target, not a SHA-256; refusing to download"
      install_release "v$version" "ecr-fanout-$target" "$expected"
      return 0
    fi
    warn "ref '$action_ref' names no released binary: scripts/release-checksums.txt at this ref lists no v${version:-?}/ecr-fanout-$target; building from source instead (pin a release tag, or the commit SHA it points at, to run the verified release binary)"
  fi
  install_from_source
}

printf '::group::%s\n' "ecr-fanout: install" >&2
binary="$(choose_binary)"
printf '::endgroup::\n' >&2
exec "$binary" action
