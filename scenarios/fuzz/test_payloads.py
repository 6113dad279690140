"""Payload fuzzing: every example's answer is checked against the contract.

Properties (``harness.fuzz.properties``): a valid message gets its documented reply; an
invalid one an error frame of the documented shape (or its documented close code); every
received frame validates; no 1011 and no close without a close frame; the server still
accepts and answers a fresh connection afterwards.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.fuzz import profiles
from harness.fuzz.driver import FuzzDriver
from harness.fuzz.mutations import Mutations

pytestmark = pytest.mark.fuzz


@profiles.current()
@given(data=st.data())
def test_valid_messages_get_their_reply(
    ws_fuzz_driver: FuzzDriver, ws_fuzz_mutations: Mutations, data: st.DataObject
) -> None:
    ws_fuzz_driver.verify(data.draw(ws_fuzz_mutations.messages.payloads(), label="payload"))


@profiles.current()
@given(data=st.data())
def test_invalid_messages_get_documented_errors(
    ws_fuzz_driver: FuzzDriver, ws_fuzz_mutations: Mutations, data: st.DataObject
) -> None:
    ws_fuzz_driver.verify(data.draw(ws_fuzz_mutations.all(), label="payload"))


@profiles.current()
@given(data=st.data())
def test_binary_and_oversized_frames_are_refused(
    ws_fuzz_driver: FuzzDriver, ws_fuzz_mutations: Mutations, data: st.DataObject
) -> None:
    ws_fuzz_driver.verify(data.draw(ws_fuzz_mutations.closing(), label="payload"))
