"""The two kinds of failure the simulator reports, shaped like Ganeti's."""

import html


class RapiError(Exception):
    """An HTTP error answer: ``{"code": status, "message": ..., "explain": ...}``."""

    def __init__(self, status, message, explain=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.explain = explain
        self.headers = headers or {}

    def body(self):
        # Ganeti's HTTP server HTML-escapes the message of an error answer.
        return {"code": self.status, "message": html.escape(self.message), "explain": self.explain}


class OpError(Exception):
    """An opcode failure: the op ends in ``error`` with ``result`` =
    ``[kind, args]``, e.g. ``["OpPrereqError", [msg, "wrong_input"]]``."""

    def __init__(self, kind, *args):
        super().__init__(args[0] if args else kind)
        self.kind = kind
        self.args_list = list(args)

    def result(self):
        return [self.kind, self.args_list]


def prereq(message, code="wrong_input"):
    return OpError("OpPrereqError", message, code)


def exec_error(message):
    return OpError("OpExecError", message)
