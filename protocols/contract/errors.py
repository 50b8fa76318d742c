"""Errors of the contract.

ValueError
 └── ContractError      a topic or message that does not follow the contract
"""


class ContractError(ValueError):
    """A topic or message that does not follow the contract; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
