"""URL space under /api/ (filled by the compute API)."""

urlpatterns = []
