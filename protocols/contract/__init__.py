"""The edge <-> central contract: MQTT topics, envelopes, event and command schemas.

Both sides import this package and nothing else of each other. The contract is
versioned: ``CONTRACT_VERSION`` is the ``v`` field of every message and the
``v1`` segment of every topic.
"""

from protocols.contract.errors import ContractError
from protocols.contract.events import (
    EVENT_KINDS,
    BarcodeScan,
    Inspection,
    MachineState,
    MaterialIssue,
    OperatorLogin,
    OperatorLogout,
    ProductionReport,
    payload_model,
)
from protocols.contract.messages import (
    CONTRACT_VERSION,
    Ack,
    Batch,
    Command,
    DispatchList,
    EdgeStatus,
    Envelope,
    MasterData,
    decode_ack,
    decode_batch,
    decode_command,
    decode_status,
    encode,
    encode_batch,
    validate_envelope,
    validate_envelopes,
)
from protocols.contract.topics import Channel, EdgeAddress, TopicLayout

__all__ = [
    "CONTRACT_VERSION",
    "EVENT_KINDS",
    "Ack",
    "BarcodeScan",
    "Batch",
    "Channel",
    "Command",
    "ContractError",
    "DispatchList",
    "EdgeAddress",
    "EdgeStatus",
    "Envelope",
    "Inspection",
    "MachineState",
    "MasterData",
    "MaterialIssue",
    "OperatorLogin",
    "OperatorLogout",
    "ProductionReport",
    "TopicLayout",
    "decode_ack",
    "decode_batch",
    "decode_command",
    "decode_status",
    "encode",
    "encode_batch",
    "payload_model",
    "validate_envelope",
    "validate_envelopes",
]
