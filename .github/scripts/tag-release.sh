#!/usr/bin/env bash
# Commits a release's checksums and tags that commit (release.yml, job `publish`).
#
#   .github/scripts/tag-release.sh VERSION SHA256SUMS
#
# Run in a checkout of the commit the release binaries were built from (C). Appends the SHA-256
# of each release binary listed in SHA256SUMS (sha256sum lines, `SHA256  ecr-fanout-TARGET`) to
# scripts/release-checksums.txt as `SHA256  vVERSION/ecr-fanout-TARGET`, commits that on top of
# C (C'), tags C' as vVERSION (annotated) and points the major tag vMAJOR at C' unless it names a
# newer version. Pushes nothing. The action runs a downloaded binary only when the checksum file
# of the commit it runs from lists it, and vVERSION, vMAJOR and the SHA they point at all hold
# these lines. Refuses: a version that is not X.Y.Z or not the one in Cargo.toml, an existing
# vVERSION tag, a checksum file that already lists the version, a SHA256SUMS without every
# binary, and uncommitted changes to tracked files.
set -euo pipefail

usage='usage: .github/scripts/tag-release.sh VERSION SHA256SUMS'
version="${1:?$usage}"
sums="${2:?$usage}"
targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
checksums=scripts/release-checksums.txt

fail() {
  printf 'tag-release: %s\n' "$*" >&2
  exit 1
}

# The package version in a Cargo.toml read from stdin (the first `version =` line).
cargo_version() { sed -n 's/^version = "\([^"]*\)"$/\1/p' | head -n 1; }

[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "version '$version' is not X.Y.Z"
tag="v$version"
major="v${version%%.*}"
[ -f "$sums" ] || fail "no $sums"
manifest_version="$(cargo_version <Cargo.toml)"
[ "$manifest_version" = "$version" ] ||
  fail "Cargo.toml says version ${manifest_version:-?}, not $version"
git diff --quiet HEAD -- || fail "tracked files have uncommitted changes"
if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
  fail "tag $tag already exists"
fi
if awk -v prefix="$tag/" '$1 !~ /^#/ && index($2, prefix) == 1 { found = 1 } END { exit !found }' \
  "$checksums"; then
  fail "$checksums already lists $tag"
fi

lines=()
for target in "${targets[@]}"; do
  asset="ecr-fanout-$target"
  # sha256sum marks binary mode with `*` before the name.
  sha="$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1; exit }' "$sums")"
  [[ "$sha" =~ ^[0-9a-f]{64}$ ]] || fail "$sums has no SHA-256 for $asset"
  lines+=("$sha  $tag/$asset")
done

built_from="$(git rev-parse HEAD)"
printf '%s\n' "${lines[@]}" >>"$checksums"
git add "$checksums"
git commit --quiet -m "Release $tag: the SHA-256 of its binaries" \
  -m "Built from $built_from; the action verifies its download against these lines."
git tag -a "$tag" -m "ecr-fanout $tag (binaries built from $built_from)"

# The major tag follows the newest version of its major.
if git rev-parse -q --verify "refs/tags/$major" >/dev/null; then
  current="$(git show "$major^{commit}:Cargo.toml" | cargo_version)"
  newest="$(printf '%s\n%s\n' "$current" "$version" | sort -V | tail -n 1)"
  if [ "$newest" != "$version" ]; then
    printf 'tag-release: %s stays at the newer version %s\n' "$major" "$current" >&2
    git rev-parse HEAD
    exit 0
  fi
fi
git tag -f "$major" "$tag^{commit}" >/dev/null
git rev-parse HEAD
