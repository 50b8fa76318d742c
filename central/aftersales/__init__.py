"""After the order ships: who made it (genealogy), service tickets, repairs, RFM segments.

Domain logic over plain data and SQLAlchemy Core, no HTTP; the API's routers call it.
"""
