"""The central order service: MQTT ingest, storage, planning, CRM, REST API."""
