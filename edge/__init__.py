"""The edge gateway: SQLite outbox, MQTT uplink/downlink, station web API, device coordinators."""
