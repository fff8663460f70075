"""The change feed, in one place: which rows each snapshot of a table inserted and
deleted (``plan.py``), the feed of a table or of one snapshot as a query (``feed.py``),
and durable subscriptions that turn table metadata into events (``subscriptions.py``).

Its faces are thin: the ``table_changes(...)`` table function in queries
(``execute/changes.py``), ``Connection.subscribe`` (``dbapi.py``) and the
``sqllake changes`` command (``cli/changes.py``). They call the feed with typed
arguments; none writes ``table_changes(...)`` text to run it back through the parser.
"""
