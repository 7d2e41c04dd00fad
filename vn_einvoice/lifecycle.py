"""The e-invoice life cycle in one table: states, signing statuses, events, allowed transitions.

States and status are seed 002's words. Every model (Odoo or other) asks this table; none
re-encodes it. Decree 70/2025 narrowed cancellation: corrections go by adjustment or replacement.

Besides the state, what an invoice *is* limits what can happen to it (:class:`Role`): an adjustment
invoice is never corrected itself (the original is adjusted again), a replacement invoice is never
cancelled. :func:`correction_routes` says which legal route fits an error (Decree 123/2020 Art. 19 as
amended by Decree 70/2025), so that wizards explain the law from one place.
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
    PREPARE = "prepare"  # a deleted prepared invoice is prepared again (the document was posted again)


class Role(str, enum.Enum):
    """What an invoice is, whatever its state (``TTHDLQuan/TCHDon`` of its own XML)."""

    ORIGINAL = "original"  # an ordinary invoice (no TTHDLQuan)
    ADJUSTMENT = "adjustment"  # TCHDon 2: carries the differences of another invoice
    REPLACEMENT = "replacement"  # TCHDon 1: replaces another invoice


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
    # No ADJUSTED -> REPLACE: once an invoice was corrected by adjustment, later errors are corrected
    # the same way (Circular 78/2021 Art. 7.1; vendors apply it under Decree 70/2025 too).
    Transition(State.USING, Event.CANCEL, State.CANCEL, "only where the law still allows it"),
    Transition(State.USING, Event.BUYER_SIGN, State.USING),
    Transition(State.ADJUSTED, Event.BUYER_SIGN, State.ADJUSTED),
    Transition(State.DELETE, Event.PREPARE, State.CREATED,
               "posted again: a new prepared e-invoice, numbered only when issued"),
)

# Events an invoice of a role never undergoes, whatever its state, and why.
ROLE_LIMITS: dict[tuple[Role, Event], str] = {
    (Role.ADJUSTMENT, Event.ADJUST): "an adjustment invoice is not adjusted itself: adjust the original invoice again",
    (Role.ADJUSTMENT, Event.REPLACE): "an adjustment invoice is not replaced: adjust the original invoice again",
    (Role.ADJUSTMENT, Event.CANCEL): "an adjustment invoice cannot be cancelled: adjust the original invoice again",
    (Role.REPLACEMENT, Event.CANCEL): "a replacement invoice cannot be cancelled: adjust it or replace it",
}

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
    Event.PREPARE: "prepared again",
}

# States in which the invoice is a legal document (cannot be reset, edited or deleted).
ISSUED_STATES = frozenset({State.USING, State.CANCEL, State.ADJUSTED, State.CHANGE})


class TransitionError(EInvoiceError):
    def __init__(self, state: State, event: Event, role: Role | str = Role.ORIGINAL):
        self.state, self.event, self.role = State(state), Event(event), Role(role)
        reason = ROLE_LIMITS.get((self.role, self.event))
        super().__init__(
            reason or f"an e-invoice in state {STATE_LABELS[self.state]!r} cannot be {EVENT_DONE[self.event]}"
        )


def can(state: State | str, event: Event | str, role: Role | str = Role.ORIGINAL) -> bool:
    return (State(state), Event(event)) in _TABLE and (Role(role), Event(event)) not in ROLE_LIMITS


def allowed_events(state: State | str, role: Role | str = Role.ORIGINAL) -> list[Event]:
    return [t.event for t in TRANSITIONS if t.state is State(state) and (Role(role), t.event) not in ROLE_LIMITS]


def transition(state: State | str, event: Event | str, sign_status: SignStatus | str = SignStatus.NOSIGN,
               role: Role | str = Role.ORIGINAL) -> tuple[State, SignStatus]:
    """The (state, signing status) after ``event``; raises ``TransitionError`` if not allowed."""
    key = (State(state), Event(event))
    if key not in _TABLE or (Role(role), key[1]) in ROLE_LIMITS:
        raise TransitionError(*key, role)
    return _TABLE[key].to, SIGN_AFTER.get(Event(event), SignStatus(sign_status))


# --- which legal route corrects an error ------------------------------------------------------------

class ErrorKind(str, enum.Enum):
    """What is wrong with an issued invoice (Decree 123/2020 Art. 19, as amended by Decree 70/2025)."""

    BUYER_NAME_ADDRESS = "buyer_name_address"  # only the buyer's name and/or address; MST and the rest right
    SUBSTANTIVE = "substantive"  # MST, amounts, VAT rate or amount, goods (spec, quality, quantity)
    VOID = "void"  # the invoice should not exist: transaction cancelled, issued twice, not for this buyer


class Route(str, enum.Enum):
    DELETE = "delete"  # never issued: delete the prepared invoice
    CANCEL = "cancel"  # 04/SS (TCTBao 1) to cancel, then a new invoice
    ADJUST = "adjust"  # adjustment invoice (TCHDon 2); for VOID: decrease to zero
    REPLACE = "replace"  # replacement invoice (TCHDon 1)
    EXPLAIN = "explain"  # 04/SS (TCTBao 4): inform the buyer and the tax authority, no new invoice


ROUTE_EVENT = {Route.DELETE: Event.DELETE, Route.CANCEL: Event.CANCEL, Route.ADJUST: Event.ADJUST,
               Route.REPLACE: Event.REPLACE}

ART_19_1 = "Decree 123/2020 Art. 19.1 (as amended by Decree 70/2025)"
ART_19_2A = "Decree 123/2020 Art. 19.2.a (as amended by Decree 70/2025)"
ART_19_2B = "Decree 123/2020 Art. 19.2.b (as amended by Decree 70/2025)"


@dataclass(frozen=True)
class RouteAdvice:
    route: Route
    basis: str  # the legal text it rests on
    why: str  # one sentence, English


def correction_routes(state: State | str, kind: ErrorKind | str, *, role: Role | str = Role.ORIGINAL,
                      coded: bool = False, sent_to_buyer: bool = True) -> list[RouteAdvice]:
    """The routes the law allows to correct an invoice, best first (empty: nothing can be done to it).

    ``coded``: the series is coded by the tax authority (symbol ``C…``); ``sent_to_buyer``: the buyer
    received the invoice. Cancellation survives Decree 70/2025 only for a coded invoice not yet sent to
    the buyer (Art. 19.1); every other error goes by adjustment or replacement (Art. 19.2.b), or, for a
    wrong buyer name/address with the right MST, by a 04/SS notice without a new invoice (Art. 19.2.a).
    """
    state, kind, role = State(state), ErrorKind(kind), Role(role)
    if state is State.CREATED:
        return [RouteAdvice(Route.DELETE, "not issued",
                            "the e-invoice was never issued (no number, no signature): it can be deleted")]
    advice: list[RouteAdvice] = []
    if coded and not sent_to_buyer:
        advice.append(RouteAdvice(Route.CANCEL, ART_19_1,
                                  "a coded invoice not yet sent to the buyer is cancelled with a 04/SS notice "
                                  "and a new invoice is issued"))
    if kind is ErrorKind.BUYER_NAME_ADDRESS:
        advice.append(RouteAdvice(Route.EXPLAIN, ART_19_2A,
                                  "a wrong buyer name or address with the right MST needs no new invoice: inform "
                                  "the buyer and send a 04/SS notice (explanation)"))
        advice.append(RouteAdvice(Route.ADJUST, ART_19_2B,
                                  "an information adjustment invoice may still be issued if the buyer asks"))
    elif kind is ErrorKind.SUBSTANTIVE:
        advice.append(RouteAdvice(Route.ADJUST, ART_19_2B,
                                  "wrong MST, amounts, VAT or goods: issue an adjustment invoice"))
        advice.append(RouteAdvice(Route.REPLACE, ART_19_2B,
                                  "or a replacement invoice, at the seller's choice"))
    else:
        advice.append(RouteAdvice(Route.ADJUST, ART_19_2B,
                                  "since Decree 70/2025 an invoice sent to the buyer or the tax authority is not "
                                  "cancelled: issue an adjustment invoice decreasing it to zero"))
    explain_ok = state in (State.USING, State.ADJUSTED)
    return [a for a in advice
            if (a.route is Route.EXPLAIN and explain_ok)
            or (a.route in ROUTE_EVENT and can(state, ROUTE_EVENT[a.route], role))]
