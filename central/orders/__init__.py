"""The order service's domain logic: plain functions over a SQLAlchemy connection.

Each public function is one unit of work for the caller's transaction; it raises a
``DomainError`` (see errors) and changes nothing when it refuses.

    sales.create / sales.confirm / sales.cancel      sales orders
    production.create / production.release           production orders (work orders)
    dispatch.refresh                                 what each line's edge is told
    progress.apply                                   what the floor's events change
    shipping.ship / shipping.pay                     shipments, invoices, payments
"""
