import pytest

from vn_einvoice.lifecycle import (
    ISSUED_STATES,
    TRANSITIONS,
    ErrorKind,
    Event,
    Role,
    Route,
    SignStatus,
    State,
    TransitionError,
    allowed_events,
    can,
    correction_routes,
    transition,
)


def test_issue_makes_using_and_signed():
    assert transition("CREATED", "issue") == (State.USING, SignStatus.SIGNED)


def test_delete_only_before_issue():
    assert transition(State.CREATED, Event.DELETE) == (State.DELETE, SignStatus.NOSIGN)
    for state in ISSUED_STATES:
        assert not can(state, Event.DELETE)


@pytest.mark.parametrize("state", [State.CHANGE, State.CANCEL])
def test_replaced_and_cancelled_are_final(state):
    assert allowed_events(state) == []
    with pytest.raises(TransitionError, match="cannot be adjusted"):
        transition(state, Event.ADJUST)


def test_deleted_is_only_prepared_again():
    assert allowed_events(State.DELETE) == [Event.PREPARE]
    assert transition(State.DELETE, Event.PREPARE) == (State.CREATED, SignStatus.NOSIGN)
    with pytest.raises(TransitionError, match="'Deleted' cannot be issued"):
        transition(State.DELETE, Event.ISSUE)


def test_several_adjustments_then_only_adjustments():
    state, sign = transition(State.USING, Event.ADJUST, SignStatus.SIGNED)
    assert (state, sign) == (State.ADJUSTED, SignStatus.SIGNED)
    assert transition(state, Event.ADJUST, sign) == (State.ADJUSTED, SignStatus.SIGNED)
    # later errors are corrected the way the first one was (Circular 78/2021 Art. 7.1)
    with pytest.raises(TransitionError, match="'Adjusted' cannot be replaced"):
        transition(state, Event.REPLACE, sign)
    assert not can(State.ADJUSTED, Event.CANCEL)


def test_roles_limit_corrections():
    # an adjustment invoice is never corrected itself: the original is adjusted again
    for event in (Event.ADJUST, Event.REPLACE, Event.CANCEL):
        assert not can(State.USING, event, Role.ADJUSTMENT)
    with pytest.raises(TransitionError, match="adjust the original invoice again"):
        transition(State.USING, Event.ADJUST, role=Role.ADJUSTMENT)
    assert allowed_events(State.USING, Role.ADJUSTMENT) == [Event.BUYER_SIGN]
    # a replacement invoice is never cancelled, but may be adjusted or replaced
    assert not can(State.USING, Event.CANCEL, "replacement")
    with pytest.raises(TransitionError, match="replacement invoice cannot be cancelled"):
        transition(State.USING, Event.CANCEL, role=Role.REPLACEMENT)
    assert transition(State.USING, Event.REPLACE, role=Role.REPLACEMENT)[0] is State.CHANGE
    assert transition(State.USING, Event.ADJUST, role=Role.REPLACEMENT)[0] is State.ADJUSTED
    # an ordinary invoice: the table alone
    assert set(allowed_events(State.USING)) == {Event.ADJUST, Event.REPLACE, Event.CANCEL, Event.BUYER_SIGN}


def _routes(*args, **kwargs):
    return [a.route for a in correction_routes(*args, **kwargs)]


def test_routes_cancel_only_for_coded_invoice_not_sent():
    assert _routes(State.USING, ErrorKind.SUBSTANTIVE, coded=True, sent_to_buyer=False) == [
        Route.CANCEL, Route.ADJUST, Route.REPLACE]
    assert _routes(State.USING, ErrorKind.SUBSTANTIVE, coded=True, sent_to_buyer=True) == [Route.ADJUST, Route.REPLACE]
    # a non-coded invoice is never cancelled since Decree 70/2025
    assert _routes(State.USING, ErrorKind.VOID, coded=False, sent_to_buyer=False) == [Route.ADJUST]
    advice = correction_routes(State.USING, ErrorKind.VOID, coded=True, sent_to_buyer=False)
    assert advice[0].route is Route.CANCEL and "19.1" in advice[0].basis
    assert "decreasing it to zero" in advice[1].why


def test_routes_buyer_name_address_is_explained():
    advice = correction_routes(State.USING, "buyer_name_address")
    assert [a.route for a in advice] == [Route.EXPLAIN, Route.ADJUST]
    assert "19.2.a" in advice[0].basis


def test_routes_follow_state_and_role():
    assert _routes(State.CREATED, ErrorKind.SUBSTANTIVE) == [Route.DELETE]
    assert _routes(State.ADJUSTED, ErrorKind.SUBSTANTIVE, coded=True, sent_to_buyer=False) == [Route.ADJUST]
    assert _routes(State.CHANGE, ErrorKind.SUBSTANTIVE) == []
    assert _routes(State.CANCEL, ErrorKind.VOID) == []
    assert _routes(State.USING, ErrorKind.SUBSTANTIVE, role=Role.ADJUSTMENT) == []
    assert _routes(State.USING, ErrorKind.VOID, role=Role.REPLACEMENT, coded=True, sent_to_buyer=False) == [
        Route.ADJUST]


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
