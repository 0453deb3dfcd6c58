"""Server URLs under /api/v1.1/ (spec 02-api §2, §4)."""

urlpatterns = []
