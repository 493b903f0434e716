"""Bolt listeners, one file per kind; `register` wires them all onto an App."""
from __future__ import annotations

from slack_bolt import App

from bots.listeners import actions, command, events, home
from bots.listeners.answering import Responder


def register(app: App, responder: Responder) -> None:
    events.register(app, responder)
    command.register(app, responder)
    home.register(app, responder)
    actions.register(app, responder.store)
