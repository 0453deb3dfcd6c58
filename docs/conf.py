project = "Cyclades"
copyright = "2026, the Cyclades developers"
version = release = "0.1"
extensions = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
