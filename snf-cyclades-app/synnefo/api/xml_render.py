"""XML serialization of the API's JSON documents (spec 02-api §1.2).

The XML form is derived from the JSON document, so both always carry the
same data:

* the document ``{"<root>": value}`` becomes ``<root xmlns=... >`` in the
  OpenStack compute v1.1 namespace (Atom declared as ``atom``, Synnefo
  extension attributes such as ``SNF:task_state`` in the ``SNF`` namespace);
* a ``{"values": x}`` wrapper is dropped (the element itself is the list);
* scalar members of an object are attributes (booleans ``true``/``false``,
  ``null`` omitted), ``links`` are ``<atom:link rel= href=/>`` children,
  nested objects and lists are child elements;
* a list ``<things>`` holds one ``<thing>`` child per item (see SINGULAR);
* ``metadata`` maps are ``<metadata><meta key="k">v</meta>...</metadata>``,
  and the one-item ``meta`` document is ``<meta key="k">v</meta>``;
* faults are ``<faultName code="N"><message/><details/></faultName>``.
"""

import re
from xml.sax.saxutils import escape as sax_escape
from xml.sax.saxutils import quoteattr as sax_quoteattr

COMPUTE_NS = "http://docs.openstack.org/compute/api/v1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"
SNF_NS = "http://www.synnefo.org/api/compute-extensions"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Characters XML 1.0 cannot carry at all (even escaped); user data such as
# metadata may hold them, so they are replaced by U+FFFD.
NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# Text without any of these is written as it is (the common case, and the
# fast one); other text goes through xml.sax.saxutils.
NEEDS_ESCAPE = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
NEEDS_QUOTING = re.compile("[&<>\"\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text):
    return NOT_XML_CHARS.sub("\ufffd", text)


def escape(text):
    if NEEDS_ESCAPE.search(text) is None:
        return text
    return sax_escape(xml_safe(text))


def quoteattr(text):
    if NEEDS_QUOTING.search(text) is None:
        return '"' + text + '"'
    return sax_quoteattr(xml_safe(text), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})

SINGULAR = {
    "servers": "server",
    "flavors": "flavor",
    "images": "image",
    "networks": "network",
    "versions": "version",
    "media_types": "media_type",
    "attachments": "nic",
    "addresses": "network",
    "diagnostics": "diagnostic",
}
FAULT_KEYS = {"code", "message", "details"}


NAMESPACES = 'xmlns="%s" xmlns:atom="%s" xmlns:SNF="%s"' % (COMPUTE_NS, ATOM_NS, SNF_NS)


def to_xml(document):
    """Serialize a one-key JSON document to an XML string."""
    if not isinstance(document, dict) or len(document) != 1:
        raise ValueError("an XML document needs exactly one root key")
    ((name, value),) = document.items()
    namespaces = NAMESPACES
    if isinstance(value, dict) and set(value) == FAULT_KEYS:
        # only a whole document can be a fault: user data shaped like one
        # (metadata keys "code", "message", "details") stays data
        return HEADER + fault_element(name, value, namespaces)
    return HEADER + element(name, value, namespaces)


def list_document(name, items):
    """``to_xml({name: {"values": [...]}})`` from the items already rendered
    with :func:`list_item`."""
    name = element_name(name)
    return HEADER + open_tag(name, [], NAMESPACES) + ">" + "".join(items) + "</%s>" % name


def list_item(list_name, item):
    """The element of one item of the list ``list_name``, as :func:`to_xml` writes it."""
    return element(singular(element_name(list_name)), item)


def fault_element(name, value, extra):
    return (open_tag(element_name(name), [("code", value["code"])], extra) + ">"
            + "<message>%s</message>" % escape(str(value["message"]))
            + "<details>%s</details>" % escape(str(value["details"]))
            + "</%s>" % element_name(name))


def element_name(key):
    return key.replace("-", "_")


def singular(name):
    if name in SINGULAR:
        return SINGULAR[name]
    return name[:-1] if name.endswith("s") and len(name) > 1 else name + "_item"


def attribute_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def open_tag(name, attributes, extra=""):
    parts = [name] + ([extra] if extra else [])
    parts += ["%s=%s" % (key, quoteattr(attribute_value(value))) for key, value in attributes]
    return "<" + " ".join(parts)


def element(key, value, extra=""):
    """One element for ``key``; ``extra`` is raw text for the root's namespaces."""
    name = element_name(key)
    if isinstance(value, dict) and set(value) == {"values"}:
        value = value["values"]
    if name == "metadata" and isinstance(value, dict):
        return open_tag(name, [], extra) + ">" + "".join(
            meta_element(k, v) for k, v in value.items()) + "</metadata>"
    if name == "meta" and isinstance(value, dict) and len(value) == 1:
        ((meta_key, meta_value),) = value.items()
        return meta_element(meta_key, meta_value, extra)
    if isinstance(value, dict):
        return object_element(name, value, extra)
    if isinstance(value, list):
        child = singular(name)
        return open_tag(name, [], extra) + ">" + "".join(
            element(child, item) for item in value) + "</%s>" % name
    if value is None:
        return open_tag(name, [], extra) + "/>"
    return open_tag(name, [], extra) + ">" + escape(attribute_value(value)) + "</%s>" % name


def meta_element(key, value, extra=""):
    return open_tag("meta", [("key", key)], extra) + ">" + escape(attribute_value(value)) + "</meta>"


def object_element(name, obj, extra=""):
    attributes, children = [], []
    for key, value in obj.items():
        if key == "links" and isinstance(value, list):
            children += [link_element(link) for link in value]
        elif isinstance(value, (dict, list)):
            children.append(element(key, value))
        elif value is not None:
            attributes.append((element_name(key), value))
    head = open_tag(name, attributes, extra)
    if not children:
        return head + "/>"
    return head + ">" + "".join(children) + "</%s>" % name


def link_element(link):
    return open_tag("atom:link", [(k, v) for k, v in link.items() if v is not None]) + "/>"
