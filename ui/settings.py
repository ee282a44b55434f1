"""The settings the CLI and the web UI build: every layer's, plus the UI's own login.

``Settings`` is the one typed settings object of an entry point (CLI, UI): the index's and the
assistant's settings (``ingest.settings``, ``assistant.settings``) and the UI's, each read
from its ``WHITEPAPER_`` environment variable, e.g. ``WHITEPAPER_UI_USER``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from assistant.settings import AssistantSettings


@dataclass(frozen=True)
class UISettings:
    """The web UI's login (both set, or neither)."""

    user: str | None
    password: SecretStr | None


class Settings(AssistantSettings):
    """Everything a user may tune. Defaults are the calibrated, offline ones."""

    ui_user: str | None = None
    ui_password: SecretStr | None = None

    @property
    def ui(self) -> UISettings:
        """The web UI's settings."""
        return UISettings(self.ui_user, self.ui_password)
