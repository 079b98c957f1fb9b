"""The zone dashboard: server-rendered pages of the gateway (``/dashboard``) with charts.

``charts`` draws (matplotlib), ``panels`` lists the overview's chart panels (a new one is a query
and a chart function), ``session`` signs the read session, ``router`` serves the pages.
"""
