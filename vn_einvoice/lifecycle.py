"""The e-invoice life cycle in one table: states, signing statuses, events, allowed transitions.

States and status are seed 002's words. Every model (Odoo or other) asks this table; none
re-encodes it. Decree 70/2025 narrowed cancellation: corrections go by adjustment or replacement.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import EInvoiceError


class State(str, enum.Enum):
    CREATED = "CREATED"  # prepared, not yet issued (number not final)
    USING = "USING"  # issued and in force
    CANCEL = "CANCEL"  # cancelled (where the law and the series still allow it)
    ADJUSTED = "ADJUSTED"  # in force, corrected by one or more adjustment invoices
    CHANGE = "CHANGE"  # replaced by another invoice
    DELETE = "DELETE"  # prepared but never issued, deleted; its number (if any) is never reused


class SignStatus(str, enum.Enum):
    NOSIGN = "NOSIGN"
    SIGNED = "SIGNED"  # signed by the seller
    CUSSIGNED = "CUSSIGNED"  # countersigned by the buyer


class Event(str, enum.Enum):
    ISSUE = "issue"  # signed locally or accepted by the provider
    DELETE = "delete"  # unsigned prepared invoice removed
    ADJUST = "adjust"  # an adjustment invoice referring to it was issued
    REPLACE = "replace"  # a replacement invoice referring to it was issued
    CANCEL = "cancel"  # cancelled (notice 04/SS accepted, or provider cancel where allowed)
    BUYER_SIGN = "buyer_sign"  # buyer countersigned


@dataclass(frozen=True)
class Transition:
    state: State
    event: Event
    to: State
    note: str = ""


TRANSITIONS: tuple[Transition, ...] = (
    Transition(State.CREATED, Event.ISSUE, State.USING, "number, date and signature become final"),
    Transition(State.CREATED, Event.DELETE, State.DELETE, "never issued; the number is not reused"),
    Transition(State.USING, Event.ADJUST, State.ADJUSTED, "the original keeps its number"),
    Transition(State.ADJUSTED, Event.ADJUST, State.ADJUSTED, "several adjustments are allowed"),
    Transition(State.USING, Event.REPLACE, State.CHANGE, "a replaced invoice cannot be corrected again"),
    Transition(State.ADJUSTED, Event.REPLACE, State.CHANGE, "replacing an adjusted invoice"),
    Transition(State.USING, Event.CANCEL, State.CANCEL, "only where the law still allows it"),
    Transition(State.USING, Event.BUYER_SIGN, State.USING),
    Transition(State.ADJUSTED, Event.BUYER_SIGN, State.ADJUSTED),
)

# Signing status after an event (events not listed keep the status).
SIGN_AFTER = {
    Event.ISSUE: SignStatus.SIGNED,
    Event.BUYER_SIGN: SignStatus.CUSSIGNED,
}

_TABLE = {(t.state, t.event): t for t in TRANSITIONS}

STATE_LABELS = {
    State.CREATED: "Created",
    State.USING: "Issued",
    State.CANCEL: "Cancelled",
    State.ADJUSTED: "Adjusted",
    State.CHANGE: "Replaced",
    State.DELETE: "Deleted",
}
SIGN_LABELS = {
    SignStatus.NOSIGN: "Not signed",
    SignStatus.SIGNED: "Signed",
    SignStatus.CUSSIGNED: "Countersigned by the buyer",
}
# Past participles, for messages: "… cannot be adjusted".
EVENT_DONE = {
    Event.ISSUE: "issued",
    Event.DELETE: "deleted",
    Event.ADJUST: "adjusted",
    Event.REPLACE: "replaced",
    Event.CANCEL: "cancelled",
    Event.BUYER_SIGN: "countersigned",
}

# States in which the invoice is a legal document (cannot be reset, edited or deleted).
ISSUED_STATES = frozenset({State.USING, State.CANCEL, State.ADJUSTED, State.CHANGE})


class TransitionError(EInvoiceError):
    def __init__(self, state: State, event: Event):
        self.state, self.event = State(state), Event(event)
        super().__init__(
            f"an e-invoice in state {STATE_LABELS[self.state]!r} cannot be {EVENT_DONE[self.event]}"
        )


def can(state: State | str, event: Event | str) -> bool:
    return (State(state), Event(event)) in _TABLE


def allowed_events(state: State | str) -> list[Event]:
    return [t.event for t in TRANSITIONS if t.state is State(state)]


def transition(state: State | str, event: Event | str, sign_status: SignStatus | str = SignStatus.NOSIGN
               ) -> tuple[State, SignStatus]:
    """The (state, signing status) after ``event``; raises ``TransitionError`` if not allowed."""
    key = (State(state), Event(event))
    if key not in _TABLE:
        raise TransitionError(*key)
    return _TABLE[key].to, SIGN_AFTER.get(Event(event), SignStatus(sign_status))
