"""ORM queries compiled once per database connection, then run with new values.

Building a queryset and compiling it to SQL costs more CPU than running a
small indexed query on it (about 0.3 ms each for the token lookup and for the
keys of a server list, the two queries of every warm list request). A
:class:`CompiledQuery` builds its queryset once per connection with a
placeholder in place of its one varying value, keeps the SQL, the parameters
and the ORM's value converters, and then runs that SQL through a plain cursor
with the real value at the placeholder's position: the same SQL and the same
converted values as the queryset would give, without rebuilding it.

The compiled form is kept on the connection object (each thread has its own,
and the converters belong to it), so it lives as long as that connection
wrapper does.
"""

from django.db import connections

PLACEHOLDER = "\x00synnefo-compiled-query-value\x00"
_KEPT_ON_CONNECTION = "_synnefo_compiled_queries"


class CompiledQuery:
    """``build(value)`` returns a ``values_list`` queryset in which ``value``
    appears exactly once among the SQL parameters (a string compared with
    ``exact``); :meth:`rows` runs it for another value."""

    def __init__(self, build, convert=True):
        self.build = build
        self.convert = convert

    def _compiled(self, alias):
        connection = connections[alias]
        kept = connection.__dict__.setdefault(_KEPT_ON_CONNECTION, {})
        compiled = kept.get(self)
        if compiled is None:
            compiler = self.build(PLACEHOLDER).query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            slots = [index for index, param in enumerate(params) if param == PLACEHOLDER]
            if len(slots) != 1:
                raise ValueError("the placeholder must be one parameter of the query, found %d" % len(slots))
            converters = {}
            if self.convert:
                converters = compiler.get_converters([column for column, _, _ in compiler.select])
            compiled = kept[self] = (connection, compiler, sql, list(params), slots[0], converters)
        return compiled

    def rows(self, value, using="default"):
        """``[row, ...]`` of the query for ``value`` on the database ``using``;
        the rows as the ORM converts them (lists then), or as the driver
        returns them (tuples) when built with ``convert=False`` or when no
        column needs a conversion."""
        connection, compiler, sql, params, slot, converters = self._compiled(using)
        params = list(params)
        params[slot] = value
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = list(compiler.apply_converters(rows, converters))
        return rows
