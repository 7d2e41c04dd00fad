import pytest

from vn_einvoice.lifecycle import (
    ISSUED_STATES,
    TRANSITIONS,
    Event,
    SignStatus,
    State,
    TransitionError,
    allowed_events,
    can,
    transition,
)


def test_issue_makes_using_and_signed():
    assert transition("CREATED", "issue") == (State.USING, SignStatus.SIGNED)


def test_delete_only_before_issue():
    assert transition(State.CREATED, Event.DELETE) == (State.DELETE, SignStatus.NOSIGN)
    for state in ISSUED_STATES:
        assert not can(state, Event.DELETE)


@pytest.mark.parametrize("state", [State.CHANGE, State.CANCEL, State.DELETE])
def test_replaced_cancelled_deleted_are_final(state):
    assert allowed_events(state) == []
    with pytest.raises(TransitionError, match="cannot be adjusted"):
        transition(state, Event.ADJUST)


def test_several_adjustments_then_replacement():
    state, sign = transition(State.USING, Event.ADJUST, SignStatus.SIGNED)
    assert (state, sign) == (State.ADJUSTED, SignStatus.SIGNED)
    assert transition(state, Event.ADJUST, sign) == (State.ADJUSTED, SignStatus.SIGNED)
    assert transition(state, Event.REPLACE, sign) == (State.CHANGE, SignStatus.SIGNED)


def test_buyer_countersign_keeps_state():
    assert transition(State.USING, Event.BUYER_SIGN, SignStatus.SIGNED) == (State.USING, SignStatus.CUSSIGNED)
    with pytest.raises(TransitionError, match="'Created' cannot be countersigned"):
        transition(State.CREATED, Event.BUYER_SIGN)


def test_issue_twice_refused():
    with pytest.raises(TransitionError, match="'Issued' cannot be issued"):
        transition(State.USING, Event.ISSUE)


def test_table_has_no_duplicates_and_every_state_reachable():
    keys = [(t.state, t.event) for t in TRANSITIONS]
    assert len(keys) == len(set(keys))
    reached = {State.CREATED} | {t.to for t in TRANSITIONS}
    assert reached == set(State)


def test_unknown_values_raise_value_error():
    with pytest.raises(ValueError):
        transition("BOGUS", "issue")
