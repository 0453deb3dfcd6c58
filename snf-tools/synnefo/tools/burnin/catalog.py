"""The read-only scenarios: ``auth``, ``images``, ``flavors``, ``servers``."""

import re

from synnefo.tools.burnin.results import CheckFailed, check
from synnefo.tools.burnin.runner import Case
from synnefo.tools.client import Unauthorized, server_metadata

BOGUS_TOKEN = "12345"


def _names(objects):
    return [o["name"] for o in objects]


class AuthCase(Case):
    name = "auth"
    title = "a bogus token is refused"

    def steps(self):
        return [("001", "list servers with a bogus token: 401 unauthorized", self.bogus_token)]

    def bogus_token(self):
        with self.ctx.client(token=BOGUS_TOKEN) as bogus:
            try:
                bogus.list_servers()
            except Unauthorized as exc:
                self.note(fault=exc.name, message=exc.message)
                return
        raise CheckFailed("GET /servers with a bogus token was answered 200, not 401")


class ListsCase(Case):
    """A collection whose compact and detailed lists must agree."""

    collection = None   # "images", "flavors", "servers"

    def lists(self):
        lister = getattr(self.api, f"list_{self.collection}")
        self.compact, self.detailed = lister(), lister(detail=True)

    def not_empty(self):
        self.lists()
        check(self.compact, f"GET /{self.collection} lists none")
        self.note(**{self.collection: len(self.compact)})

    def same_length(self):
        check(len(self.compact) == len(self.detailed),
              f"{len(self.compact)} {self.collection} in GET /{self.collection}, "
              f"{len(self.detailed)} in GET /{self.collection}/detail")

    def same_names(self):
        check(sorted(_names(self.compact)) == sorted(_names(self.detailed)),
              f"names differ: {sorted(set(_names(self.compact)) ^ set(_names(self.detailed)))}")


class ImagesCase(ListsCase):
    name = collection = "images"
    title = "the image lists"

    def steps(self):
        return [("001", "at least one image", self.not_empty),
                ("002", "compact and detailed lists have the same length", self.same_length),
                ("003", "compact and detailed lists have the same names", self.same_names),
                ("004", "every image answers GET /images/{id} with its listed name", self.each_image),
                ("005", "every image has the metadata osfamily and root_partition", self.metadata)]

    def each_image(self):
        for image in self.compact:
            got = self.api.get_image(image["id"])
            check(got["name"] == image["name"],
                  f"image {image['id']}: GET /images/{{id}} says {got['name']!r}, the list {image['name']!r}")

    def metadata(self):
        missing = [f"{i['id']} lacks {sorted({'osfamily', 'root_partition'} - set(server_metadata(i)))}"
                   for i in self.detailed
                   if not {"osfamily", "root_partition"} <= set(server_metadata(i))]
        check(not missing, "; ".join(missing))


class FlavorsCase(ListsCase):
    name = collection = "flavors"
    title = "the flavor lists"

    def steps(self):
        return [("001", "at least one flavor", self.not_empty),
                ("002", "compact and detailed lists have the same length", self.same_length),
                ("003", "compact and detailed lists have the same names", self.same_names),
                ("004", "flavor names are unique per disk template", self.unique),
                ("005", "every name is C<cpu>R<ram>D<disk> of its values", self.names_match),
                ("006", "every flavor answers GET /flavors/{id} as listed", self.each_flavor)]

    def unique(self):
        # C<cpu>R<ram>D<disk> does not name the disk template, which tells
        # apart flavors of the same size: the pair must be unique.
        keys = [(f["name"], f.get("SNF:disk_template")) for f in self.detailed]
        twice = sorted({f"{n} ({t})" for n, t in keys if keys.count((n, t)) > 1})
        check(not twice, f"flavors listed more than once with the same name and disk template: {twice}")

    def names_match(self):
        wrong = [f"{f['id']}: {f['name']!r} but cpu {f['cpu']}, ram {f['ram']}, disk {f['disk']}"
                 for f in self.detailed
                 if not re.fullmatch(r"C\d+R\d+D\d+", f["name"])
                 or f["name"] != f"C{f['cpu']}R{f['ram']}D{f['disk']}"]
        check(not wrong, "; ".join(wrong))

    def each_flavor(self):
        for flavor in self.detailed:
            got = self.api.get_flavor(flavor["id"])
            check(got == flavor, f"flavor {flavor['id']}: GET /flavors/{{id}} {got} != listed {flavor}")


class ServersCase(ListsCase):
    name = collection = "servers"
    title = "the server lists"

    def steps(self):
        return [("001", "compact and detailed lists have the same length and names", self.agree)]

    def agree(self):
        self.lists()
        self.same_length()
        self.same_names()
        self.note(servers=len(self.compact))
