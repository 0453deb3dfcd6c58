"""The pages of the admin web, one module per area; helpers in ``common``."""
