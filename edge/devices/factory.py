"""Coordinators built from the edge's settings: one per configured device."""

from __future__ import annotations

from edge.devices.base import Coordinator
from edge.devices.modbus import ModbusCoordinator, ModbusRtu, ModbusTcp
from edge.devices.opcua import OpcUaCoordinator, OpcUaSecurity, OpcUaTag
from edge.devices.serial_counter import SerialCounterCoordinator
from edge.devices.serial_line import SerialLine
from edge.settings import DeviceSettings, ModbusTagSettings, OpcUaTagSettings
from protocols.count_message import compile_pattern
from protocols.modbus import TagSpec


def build(device: DeviceSettings) -> Coordinator:
    """The coordinator for one device; settings were validated at start-up."""
    if device.kind == "serial_counter":
        assert device.serial_port is not None
        return SerialCounterCoordinator(
            name=device.name,
            interval_s=device.interval_s,
            timeout_s=device.timeout_s,
            line=SerialLine(
                device.serial_port,
                device.baudrate,
                device.parity,
                device.bytesize,
                device.stopbits,
                device.terminator,
            ),
            pattern=compile_pattern(device.pattern),
            stale_after_s=device.stale_after_s,
        )
    if device.kind == "opcua":
        tags = tuple(
            OpcUaTag(t.name, t.node) for t in map(OpcUaTagSettings.model_validate, device.tags)
        )
        assert device.endpoint is not None
        security = None
        if device.security != "None":
            assert device.certificate is not None and device.private_key is not None
            security = OpcUaSecurity(
                device.certificate,
                device.private_key,
                device.security,
                device.server_certificate,
                device.application_uri,
                device.security_policy or "Basic256Sha256",
            )
        return OpcUaCoordinator(
            device.name,
            interval_s=device.interval_s,
            timeout_s=device.timeout_s,
            endpoint=device.endpoint,
            tags=tags,
            mode=device.mode,
            publishing_interval_s=device.publishing_interval_s,
            username=device.username,
            password=device.password,
            security=security,
        )
    specs = [
        TagSpec(
            t.name,
            t.table,
            t.address,
            t.type,
            t.byte_order,
            t.scale,
            t.offset,
            t.length,
            t.min,
            t.max,
        )
        for t in map(ModbusTagSettings.model_validate, device.tags)
    ]
    if device.kind == "modbus_tcp":
        assert device.host is not None and device.port is not None
        link: ModbusTcp | ModbusRtu = ModbusTcp(device.host, device.port)
    else:
        assert device.serial_port is not None
        link = ModbusRtu(
            device.serial_port, device.baudrate, device.parity, device.stopbits, device.bytesize
        )
    return ModbusCoordinator(
        name=device.name,
        interval_s=device.interval_s,
        timeout_s=device.timeout_s,
        link=link,
        tags=specs,
        unit=device.unit,
        max_block=device.max_block,
        max_gap=device.max_gap,
        retries=device.retries,
    )
