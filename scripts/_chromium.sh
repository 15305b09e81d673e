# Sourced by scripts/test.sh: puts a headless browser on the machine for the console tests. Debian's
# chromium is installed with apt-get when it is missing and this runs as root (CI does); elsewhere the
# console tests skip without it (and fail when CI=true). Playwright drives it as it is: no browser download.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "feedmix: installing Debian's chromium for the console tests" >&2
  { apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; } \
    || echo "feedmix: could not install chromium (the console tests fail in CI without it)" >&2
fi
