"""Injected failures: ``OPCODE[:INSTANCE_GLOB]`` rules that make matching ops fail.

A rule fails its op before the change, or (``after_change``) after it: the
change is made and saved, no post hook runs, and the job still ends in
``error``, as a Ganeti job does when its master dies in the middle of it."""

import fnmatch

DEFAULT_MESSAGE = "Injected failure (snf-ganeti-sim)"


class FailRule:
    def __init__(self, opcode, instance=None, message=None, after_change=False):
        if not isinstance(opcode, str) or not opcode.startswith("OP_"):
            raise ValueError("fail rule opcode must be an OP_* name, got %r" % (opcode,))
        if instance is not None and not isinstance(instance, str):
            raise ValueError("fail rule instance must be a glob string, got %r" % (instance,))
        if message is not None and not isinstance(message, str):
            raise ValueError("fail rule message must be a string, got %r" % (message,))
        if not isinstance(after_change, bool):
            raise ValueError("fail rule after_change must be true or false, got %r" % (after_change,))
        self.opcode = opcode
        self.instance = instance or None
        self.message = message or DEFAULT_MESSAGE
        self.after_change = after_change

    @classmethod
    def parse(cls, text):
        """``OP_INSTANCE_CREATE`` or ``OP_INSTANCE_CREATE:snf-*``."""
        opcode, _, glob = text.partition(":")
        return cls(opcode.strip().upper(), glob.strip() or None)

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise ValueError("each fail rule must be an object, got %r" % (data,))
        unknown = set(data) - {"opcode", "instance", "message", "after_change"}
        if unknown:
            raise ValueError("unknown fail rule keys: %s" % ", ".join(sorted(unknown)))
        return cls(data.get("opcode"), data.get("instance"), data.get("message"),
                   data.get("after_change", False))

    def to_dict(self):
        return {"opcode": self.opcode, "instance": self.instance, "message": self.message,
                "after_change": self.after_change}

    def matches(self, op_input):
        if op_input.get("OP_ID") != self.opcode:
            return False
        if self.instance is None:
            return True
        target = op_input.get("instance_name") or op_input.get("network_name") or op_input.get("name")
        return isinstance(target, str) and fnmatch.fnmatchcase(target, self.instance)


def first_match(rules, op_input):
    for rule in rules:
        if rule.matches(op_input):
            return rule
    return None
