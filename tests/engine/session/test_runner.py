"""The supervision state machine on a scripted driver: conflicts, pairing codes, idle QRs,
slow reloads and logouts (issue 11, points 6 and 7). The conflict and the code renewal also
run on real Chromium against the simulator in test_sessions.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.events import PairingCodeExpired, PairingCodeIssued, QrExpired, QrUpdated
from engine.session.runner import InConflict
from engine.sessions import SessionManager
from engine.whatsapp.errors import NotInConflict, WhatsAppError
from storage.db import Database
from storage.repos import SessionRepo
from tests.support.scripted_driver import MAX_AUTO_REFRESHES
from tests.support.session_rig import POLICY, QUIET_S, Rig, S, make_rig

TROUBLE = {S.DISCONNECTED, S.RECONNECTING, S.FAILED}


@pytest.fixture
async def rig(db: Database, tmp_path: Path) -> AsyncIterator[Rig]:
    built = await make_rig(db, tmp_path / "data")
    try:
        yield built
    finally:
        for manager in built.managers:
            await manager.stop()


async def _started(rig: Rig) -> SessionManager:
    manager = rig.manager()
    await manager.add("haby", "main")
    await manager.start()
    await rig.wait_state(S.QR_PENDING)
    return manager


async def _in_conflict(rig: Rig) -> SessionManager:
    manager = await _started(rig)
    await rig.connected(manager)
    rig.account.page.whatsapp_opened_elsewhere()
    await rig.wait_state(S.CONFLICT)
    return manager


# -- conflict -------------------------------------------------------------------------------


async def test_a_conflict_waits_for_an_operator_and_take_over_brings_it_back(rig: Rig) -> None:
    manager = await _in_conflict(rig)
    page = rig.account.page
    await asyncio.sleep(QUIET_S)  # longer than the offline, login and watchdog timers
    assert rig.states()[-1] is S.CONFLICT
    assert len(rig.account.drivers) == 1, "no new page: it would take WhatsApp back"
    assert "take_over" not in page.calls, "nothing takes over on its own"
    stored = await manager.get("haby", "main")
    assert (stored.state, stored.state_reason) == (S.CONFLICT, "WhatsApp is open in another window")
    with pytest.raises(InConflict):
        await manager.pair("haby", "main")

    assert await manager.take_over("haby", "main") is S.CONNECTED
    assert page.calls.count("take_over") == 1 and len(rig.account.drivers) == 1
    with pytest.raises(NotInConflict):
        await manager.take_over("haby", "main")


async def test_a_page_that_dies_in_conflict_parks_instead_of_reconnecting(rig: Rig) -> None:
    manager = await _in_conflict(rig)
    first = rig.account.page
    first.page_freezes()
    await rig.until(lambda: first.stopped, "the frozen page to be closed")
    await asyncio.sleep(QUIET_S)
    assert len(rig.account.drivers) == 1, "a new page would take WhatsApp from the other window"
    assert not set(rig.states()[-3:]) & TROUBLE and rig.states()[-1] is S.CONFLICT

    assert await manager.take_over("haby", "main") is S.CONNECTED
    second = rig.account.page
    assert second is not first and second.calls.count("take_over") == 1


async def test_a_conflict_outlives_an_engine_restart_until_someone_takes_over(rig: Rig) -> None:
    manager = await _in_conflict(rig)
    await manager.stop()
    assert (await manager.get("haby", "main")).state is S.CONFLICT

    again = rig.manager()
    await again.start()
    session = await again.get("haby", "main")
    assert again.runner(session.id) is None, "starting it would take WhatsApp back silently"
    with pytest.raises(InConflict):
        await again.pair("haby", "main")
    assert len(rig.account.drivers) == 1
    assert await again.take_over("haby", "main") is S.CONNECTED
    assert rig.account.page.calls.count("take_over") == 1


# -- pairing codes ----------------------------------------------------------------------------


async def test_pairing_codes_are_renewed_and_rotations_do_not_count(rig: Rig) -> None:
    manager = await _started(rig)
    assert await manager.pair("haby", "main", "+54 9 11 5555-0000") == "CODE0001"
    page = rig.account.page
    assert page.calls[-1] == "request_pairing_code:5491155550000"
    qrs_before = len(rig.of(QrUpdated))
    for _ in range(manager.policy.max_qr_attempts + 2):
        page.qr_rotates()  # under the code screen
    for _ in range(MAX_AUTO_REFRESHES):
        page.link_code_runs_out()
    await rig.wait(lambda: len(rig.of(PairingCodeIssued)) == 1 + MAX_AUTO_REFRESHES, "renewals")
    codes = [(e.attempt, e.code, e.phone) for e in rig.of(PairingCodeIssued)]
    assert codes == [(n, f"CODE{n:04d}", "5491155550000") for n in range(1, 7)]
    assert rig.of(QrExpired) == [] and len(rig.of(QrUpdated)) == qrs_before
    assert rig.states()[-1] is S.QR_PENDING

    page.link_code_runs_out()  # the sixth time: no more renewals
    await rig.wait(lambda: bool(rig.of(PairingCodeExpired)), "the code to expire")
    assert rig.of(PairingCodeExpired)[0].phone == "5491155550000"
    page.phone_scans()
    await rig.wait_state(S.CONNECTED)


async def test_the_same_code_twice_is_one_event_and_a_plain_pair_cancels_the_flow(
    rig: Rig,
) -> None:
    manager = await _started(rig)
    first = await manager.pair("haby", "main", "5491155550000")
    assert await manager.pair("haby", "main", "5491155550000") == first  # WA-JS reuses it
    await asyncio.sleep(0.1)
    assert [e.attempt for e in rig.of(PairingCodeIssued)] == [1, 1], "one per request"

    qr = await manager.pair("haby", "main")
    page = rig.account.page
    assert "cancel_pairing_code" in page.calls
    assert rig.of(QrUpdated)[-1].code == qr and rig.of(QrUpdated)[-1].attempt == 1
    for _ in range(manager.policy.max_qr_attempts):
        page.qr_rotates()
    await rig.wait(lambda: bool(rig.of(QrExpired)), "the QR to expire: rotations count again")


async def test_a_refused_code_is_the_requesters_error_not_a_second_message(rig: Rig) -> None:
    manager = await _started(rig)
    rig.account.refuse_codes = True
    with pytest.raises(WhatsAppError, match="refused"):
        await manager.pair("haby", "main", "5491155550000")
    await asyncio.sleep(0.1)
    assert rig.of(PairingCodeIssued) == [] and rig.states()[-1] is S.QR_PENDING


# -- idle QR -------------------------------------------------------------------------------


async def test_an_idle_qr_is_refreshed_when_someone_asks_again(rig: Rig) -> None:
    manager = await _started(rig)
    first = await manager.pair("haby", "main")
    page = rig.account.page
    page.qr_goes_idle()
    await rig.wait(lambda: bool(rig.of(QrExpired)), "the idle QR to count as expired")

    fresh = await manager.pair("haby", "main")
    assert fresh != first and "refresh_qr" in page.calls
    assert [(e.code, e.attempt) for e in rig.of(QrUpdated)][-1] == (fresh, 1)
    assert fresh == await page.auth_code() and len(rig.account.drivers) == 1
    page.phone_scans()
    await rig.wait_state(S.CONNECTED)


async def test_an_idle_qr_nobody_asks_for_parks_and_the_next_pair_opens_a_fresh_one(
    rig: Rig,
) -> None:
    manager = await _started(rig)
    await rig.connected(manager)
    page = rig.account.page
    page.phone_unlinks()  # this number was paired before: it parks as logged_out
    await rig.wait_state(S.LOGGED_OUT)
    page.qr_goes_idle()
    await rig.until(lambda: page.stopped, "the idle page to close after qr_idle_keep_s")
    assert rig.states()[-1] is S.LOGGED_OUT

    qr = await manager.pair("haby", "main")
    assert len(rig.account.drivers) == 2 and qr == await rig.account.page.auth_code()
    rig.account.page.phone_scans()
    await rig.wait_state(S.CONNECTED)


# -- reloads and logout ----------------------------------------------------------------------


async def test_a_slow_self_reload_is_not_a_lost_page(rig: Rig) -> None:
    manager = await _started(rig)
    await rig.connected(manager)
    before = len(rig.states())
    rig.account.ready_after_load_s = 0.8  # > alive_timeout_s, several watchdog rounds
    rig.account.page.whatsapp_reloads()
    await asyncio.sleep(QUIET_S)
    assert rig.states()[before:] == [], "no state change while WA-JS comes back"
    assert len(rig.account.drivers) == 1
    session = await manager.get("haby", "main")
    sent = await manager.send_text(session.id, "5491155550000@c.us", "hola")
    assert sent.to == "5491155550000@c.us"


async def test_a_reload_that_never_gets_ready_is_replaced_after_the_bound(rig: Rig) -> None:
    manager = await _started(rig)
    await rig.connected(manager)
    before = len(rig.states())
    rig.account.ready_after_load_s = 30.0  # within the driver's is_alive grace, not ours
    rig.account.page.whatsapp_reloads()
    await rig.wait(lambda: S.RECONNECTING in rig.states()[before:], "the runner to give up")
    await rig.wait_state(S.CONNECTED)
    reasons = [e.reason or "" for e in rig.events[before:] if hasattr(e, "reason")]
    assert any("did not finish loading in 1 s" in r for r in reasons), reasons
    assert len(rig.account.drivers) == 2


async def test_an_operators_logout_ends_logged_out(rig: Rig) -> None:
    manager = await _started(rig)
    await rig.connected(manager)
    before = len(rig.states())
    rig.account.ready_after_load_s = 0.5  # WhatsApp Web reloads itself after the logout
    await manager.logout("haby", "main")
    await asyncio.sleep(QUIET_S)
    assert rig.states()[before:] == [S.LOGGED_OUT]
    stored = await SessionRepo(rig.db).get("haby", "main")
    assert stored.state is S.LOGGED_OUT and len(rig.account.drivers) == 1
    qr = await manager.pair("haby", "main")
    assert qr == await rig.account.page.auth_code()


async def test_a_code_asked_for_on_an_idle_qr_reopens_it_first(rig: Rig) -> None:
    manager = await _started(rig)
    page = rig.account.page
    page.qr_goes_idle()
    await rig.wait(lambda: bool(rig.of(QrExpired)), "the idle QR to count as expired")
    assert await manager.pair("haby", "main", "5491155550000") == "CODE0001"
    assert page.calls[-2:] == ["refresh_qr", "request_pairing_code:5491155550000"]
    await asyncio.sleep(QUIET_S)  # the idle deadline is over: the code flow keeps the page
    assert not page.stopped


async def test_pages_that_connected_before_dying_never_add_up_to_failed(rig: Rig) -> None:
    """Found by bench/faults.py: the sixth browser crash in a process's life parked a healthy
    number as `failed`. Only lives that never connect count towards max_start_failures."""
    manager = rig.manager()
    await manager.add("haby", "main")
    await manager.start()
    await rig.connected(manager)
    crashes = POLICY.max_start_failures + 2
    for n in range(crashes):
        page = rig.account.page
        page.page_freezes()
        await rig.until(lambda page=page: page.stopped, f"frozen page {n} closed")
        await rig.wait(lambda: rig.states()[-1] is S.CONNECTED, f"connected after crash {n}")
    assert S.FAILED not in rig.states()
    assert len(rig.account.drivers) == crashes + 1
