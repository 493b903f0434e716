"""Which clearance a Slack conversation gets: public, unless settings list it as confidential."""
from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient

from core.settings import Clearance, Settings

log = logging.getLogger(__name__)


def conversation_clearance(conversation: dict, settings: Settings) -> Clearance:
    """The clearance for a conversation as conversations.info describes it.

    Public channels, and anything shared with another organisation, are always public.
    Private channels and group DMs are confidential only if their ID is listed in
    `slack_confidential_channels`; a DM only if its user is in `slack_confidential_users`
    (or the DM's ID is listed).
    """
    channel_id = conversation.get("id", "")
    if conversation.get("is_ext_shared") or conversation.get("is_pending_ext_shared"):
        return "public"
    if conversation.get("is_im"):
        allowed = (conversation.get("user") in settings.slack_confidential_users
                   or channel_id in settings.slack_confidential_channels)
        return "confidential" if allowed else "public"
    if conversation.get("is_private") or conversation.get("is_mpim"):
        return "confidential" if channel_id in settings.slack_confidential_channels else "public"
    return "public"


class ConversationClearance:
    """conversations.info per channel, cached for a few minutes (a channel can be made
    public); any failure to look a channel up means `public`."""

    def __init__(self, settings: Settings, ttl_seconds: float = 300.0) -> None:
        self.settings = settings
        self.ttl_seconds = ttl_seconds
        self._cache: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def for_dm_with(self, user_id: str) -> Clearance:
        """The clearance of this person's DM with the bot (for their App Home tab)."""
        return conversation_clearance({"is_im": True, "user": user_id}, self.settings)

    def for_channel(self, client: WebClient, channel_id: str) -> Clearance:
        info = self._info(client, channel_id)
        return "public" if info is None else conversation_clearance(info, self.settings)

    def _info(self, client: WebClient, channel_id: str) -> dict | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(channel_id)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        try:
            info = client.conversations_info(channel=channel_id)["channel"]
        except Exception as exc:  # fail closed: no confidential material if we cannot tell
            log.warning("conversations.info %s failed, treating it as public: %s", channel_id, exc)
            return None
        with self._lock:
            self._cache[channel_id] = (now, info)
        return info
