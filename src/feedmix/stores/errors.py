"""The one exception online stores raise when their backend fails.

Stores sit on the request path, where a missing "seen" filter is far better than a failed feed.
Wrapping every backend error (connection refused, timeout, protocol error) into one type lets
callers fail open with a single ``except StoreUnavailable`` instead of knowing about redis-py.
"""

from __future__ import annotations


class StoreUnavailable(Exception):
    """The store's backend could not answer; the caller should degrade, not fail."""
