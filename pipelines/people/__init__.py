"""Customers and organizations: exported and imported like tickets (export.py, import_.py).

kinds.py says, per kind, which field identifies a record across helpdesks (a customer's
email, an organization's name) and which fields a create carries.
"""
