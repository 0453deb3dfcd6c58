"""The web UI for users (``/ui/``): a single-page application, served as
static files, that is a client of the public compute API only.

Its views render two small HTML pages and read nothing but settings: every
behaviour and every fault the page shows is the API's.
"""
