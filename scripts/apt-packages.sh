# Sourced by install-deps.sh and install-bench-deps.sh: what is missing of a
# list of Debian packages, and installing it. Nothing is fetched when all
# are there; apt's lists are refreshed only when something is missing.

# missing_packages PKG...: prints, one a line, those not installed.
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

# install_packages WHO PKG...: installs them, as root (else says how, and fails).
install_packages() {
  local who=$1
  shift
  if [ "$(id -u)" -ne 0 ]; then
    echo "$who: missing packages: $*; run as root (or: sudo $0)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@"
}
