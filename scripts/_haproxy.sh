# Sourced by scripts/test.sh: puts Debian's haproxy on the machine for the tests and `feedmix bench
# balancer`, which start their own balancer on a free port in front of their own replicas (the
# package's service is not used; ops/haproxy/README.md). Installed with apt-get when it is missing and
# this runs as root (CI does); elsewhere those tests skip without it (and fail when CI=true).
if ! command -v haproxy >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "feedmix: installing Debian's haproxy for the load-balancer tests" >&2
  { apt-get install -y -q haproxy >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -q haproxy >/dev/null 2>&1; }; } \
    || echo "feedmix: could not install haproxy (the load-balancer tests fail in CI without it)" >&2
fi
