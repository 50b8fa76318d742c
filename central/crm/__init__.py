"""The sales side of the CRM: leads, opportunities and the pipeline, quotes, follow-ups.

Domain logic over plain data and SQLAlchemy Core, no HTTP; the API's routers call it.
"""
