# Sourced by scripts/test.sh: puts promtool (the Prometheus rules checker) on PATH for the alert-rule
# tests. promtool is a static binary inside Debian's `prometheus` package; the package is downloaded
# and unpacked into .cache/promtool (not installed: no service, no dependencies), once.
if ! command -v promtool >/dev/null 2>&1; then
  dir="$PWD/.cache/promtool"
  if [ ! -x "$dir/usr/bin/promtool" ] && command -v apt-get >/dev/null 2>&1; then
    mkdir -p "$dir"
    (
      cd "$dir" &&
      { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1; }; } &&
      dpkg -x prometheus_*.deb . && rm -f prometheus_*.deb
    ) || echo "feedmix: could not fetch promtool (the alert-rule tests fail in CI without it)" >&2
  fi
  [ -x "$dir/usr/bin/promtool" ] && export PATH="$dir/usr/bin:$PATH"
fi
