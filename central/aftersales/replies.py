"""Reply templates: found by keyword and rendered for a ticket.

``{customer}``, ``{contact}``, ``{ticket}`` and ``{subject}`` are filled in, anything else
is left as it is.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, Text, cast, func, or_, select

from central.db.aftersales import reply_templates, service_tickets
from central.db.domain import contacts, customers
from central.db.rows import get, record

__all__ = ["render_reply", "search_templates"]

K, T = service_tickets.c, reply_templates.c


def search_templates(conn: Connection, q: str, limit: int) -> list[dict[str, Any]]:
    """Templates with every word of ``q`` in their title, body or keywords (any case), those
    whose keywords hold the most of the words first, then by title hits and code."""
    words = [w.casefold() for w in q.split()]
    query = select(T.code, T.title, T.body, T.keywords)
    for word in words:
        # narrowed in SQL where its case-folding is exact (ASCII); Python decides
        if word.isascii():
            query = query.where(
                or_(
                    func.lower(T.title).contains(word, autoescape=True),
                    func.lower(T.body).contains(word, autoescape=True),
                    func.lower(cast(T.keywords, Text)).contains(word, autoescape=True),
                )
            )
    ranked = []
    for row in conn.execute(query):
        title, body = row.title.casefold(), row.body.casefold()
        keywords = [k.casefold() for k in row.keywords]
        in_keywords = sum(any(w in k for k in keywords) for w in words)
        in_title = sum(w in title for w in words)
        if all(w in title or w in body or any(w in k for k in keywords) for w in words):
            ranked.append(((-in_keywords, -in_title, row.code), record(row)))
    ranked.sort(key=lambda pair: pair[0])
    return [found for _, found in ranked[:limit]]


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render_reply(conn: Connection, number: str, template_code: str) -> dict[str, Any]:
    """A template's title and body with the ticket's placeholders filled in."""
    template = get(
        conn,
        select(reply_templates).where(T.code == template_code),
        "reply template",
        template_code,
    )
    ticket = get(
        conn,
        select(
            K.number,
            K.subject,
            customers.c.name.label("customer"),
            contacts.c.name.label("contact"),
        )
        .join(customers, customers.c.id == K.customer_id)
        .outerjoin(contacts, contacts.c.id == K.contact_id)
        .where(K.number == number),
        "ticket",
        number,
    )
    values = {
        "customer": ticket.customer,
        "contact": ticket.contact or ticket.customer,  # no contact: the customer is addressed
        "ticket": ticket.number,
        "subject": ticket.subject,
    }

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    return {
        "template": template.code,
        "ticket": ticket.number,
        "title": fill(template.title),
        "body": fill(template.body),
    }
