"""The user directory interface the feed reads profiles from.

The demo's users come from the seeded simulator population; a real deployment would put its
account service behind the same two-method interface.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt


class Profile(Protocol):
    @property
    def user_id(self) -> str: ...

    @property
    def communities(self) -> npt.NDArray[np.int32]: ...

    @property
    def allow_nsfw(self) -> bool: ...


class UserDirectory(Protocol):
    def get(self, user_id: str) -> Profile | None: ...
