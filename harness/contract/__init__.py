"""The contract layer: the protocol under test as data (routes, messages, replies, codes).

``load_contract(path)`` reads an AsyncAPI 3.0 document; ``FrameValidator`` checks frames
against its JSON Schemas. Nothing here opens a socket.
"""

from harness.contract.loader import load_contract
from harness.contract.model import Contract, Message, Route
from harness.contract.validation import FrameValidator, Violation

__all__ = ["Contract", "FrameValidator", "Message", "Route", "Violation", "load_contract"]
