"""Local development: DEBUG on; SQLite and the filesystem broker unless the environment says
otherwise."""

import os

os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: E402,F403
