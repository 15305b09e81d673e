# Sourced by scripts/test.sh: puts Debian's memcached on the machine for the cache tests, which start
# their own server on a free port (the package's service is not used). Installed with apt-get when it is
# missing and this runs as root (CI does); elsewhere those tests skip without it (and fail when CI=true).
if ! command -v memcached >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "feedmix: installing Debian's memcached for the cache tests" >&2
  { apt-get install -y -q memcached >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -q memcached >/dev/null 2>&1; }; } \
    || echo "feedmix: could not install memcached (the cache tests fail in CI without it)" >&2
fi
