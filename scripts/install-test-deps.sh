#!/usr/bin/env bash
# Installs what some integration tests need from Debian's packages, when it is missing:
#   postgresql  the server binaries for the shared DNS cache tests (tests/it/shared_cache.rs)
# The tests call this themselves; run it by hand to install ahead of time.
# Needs root (or sudo) and the package registry; prints what it did.
set -euo pipefail
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
for what in "${@:-postgresql}"; do
  case "$what" in
    postgresql)
      if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "postgresql: already installed ($(ls -d /usr/lib/postgresql/*/bin | tail -1))"
        continue
      fi
      # Only the binaries: the package's own cluster is not started by the tests.
      $sudo apt-get update -q
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends postgresql
      ;;
    *)
      echo "install-test-deps.sh: unknown dependency '$what' (known: postgresql)" >&2
      exit 2
      ;;
  esac
done
