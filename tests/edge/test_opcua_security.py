"""OPC UA security per device: the edge speaks the policy and mode a server requires."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.devices.base import DeviceError
from edge.devices.factory import build
from edge.settings import DeviceSettings
from simulators.opcua import OpcUaMachine, make_certificate

GOOD_COUNT = "ns=2;s=Machine1.GoodCount"


def device(endpoint: str, **options: Any) -> DeviceSettings:
    return DeviceSettings.model_validate(
        {
            "name": "m1",
            "kind": "opcua",
            "endpoint": endpoint,
            "mode": "poll",
            "timeout_s": 5.0,
            "tags": [{"name": "good", "node": GOOD_COUNT}],
            **options,
        }
    )


async def read_good(settings: DeviceSettings) -> str:
    coordinator = build(settings)
    try:
        await coordinator.connect()
        [reading] = await coordinator.poll()
        return reading.quality
    finally:
        await coordinator.close()


@pytest.fixture
def simulator(tmp_path: Path) -> Any:
    """``floorsync sim opcua`` requiring Basic256Sha256 SignAndEncrypt: endpoint, server cert."""
    requirement = ["--security-policy", "Basic256Sha256", "--security-mode", "SignAndEncrypt"]
    where = ["--port", "0", "--cert-dir", str(tmp_path / "sim")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "floorsync", "sim", "opcua", *where, *requirement],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    endpoint = re.search(r"at (opc\.tcp://\S+)", proc.stdout.readline())
    requires = re.search(r"requires (\S+) (\S+); server certificate (\S+)", proc.stdout.readline())
    assert endpoint and requires, "the simulator did not say where it serves"
    assert requires.group(1, 2) == ("Basic256Sha256", "SignAndEncrypt")
    yield endpoint.group(1), requires.group(3)
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)
    proc.stdout.close()


def test_the_edge_connects_with_the_policy_the_simulator_requires(
    simulator: tuple[str, str], tmp_path: Path
) -> None:
    endpoint, server_cert = simulator

    async def scenario() -> None:
        cert, key = await make_certificate(tmp_path, "edge", "urn:floorsync:edge", server=False)
        keys = {"certificate": str(cert), "private_key": str(key)}
        secure = device(
            endpoint,
            security="SignAndEncrypt",
            security_policy="Basic256Sha256",
            server_certificate=server_cert,
            **keys,
        )
        assert await read_good(secure) == "good"
        refused = [
            device(endpoint),  # no security at all
            device(endpoint, security="Sign", **keys),  # signed, not encrypted
            device(
                endpoint, security="SignAndEncrypt", security_policy="Aes128_Sha256_RsaOaep", **keys
            ),
        ]
        for settings in refused:
            with pytest.raises(DeviceError, match="requires another security policy or mode"):
                await read_good(settings)

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_newer_policy_end_to_end(tmp_path: Path) -> None:
    async def scenario() -> None:
        machine = OpcUaMachine(1, security_policy="Aes256_Sha256_RsaPss", security_mode="Sign")
        machine.certificate, machine.private_key = await make_certificate(
            tmp_path, "server", machine.application_uri, server=True
        )
        cert, key = await make_certificate(tmp_path, "edge", "urn:floorsync:edge", server=False)
        keys = {"certificate": str(cert), "private_key": str(key)}
        await machine.start()
        try:
            ok = device(
                machine.endpoint, security="Sign", security_policy="Aes256_Sha256_RsaPss", **keys
            )
            assert await read_good(ok) == "good"
            with pytest.raises(DeviceError, match="requires another security policy or mode"):
                await read_good(device(machine.endpoint, security="Sign", **keys))
        finally:
            await machine.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_policy_without_security_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="security_policy needs security = Sign or SignAndEncrypt"):
        device("opc.tcp://127.0.0.1:4840/", security_policy="Aes128_Sha256_RsaOaep")
    with pytest.raises(ValueError, match="Input should be 'Basic256Sha256'"):
        device("opc.tcp://127.0.0.1:4840/", security="Sign", security_policy="Basic128Rsa15")
