"""URLs of the admin web, mounted at /admin/ by snf-cyclades-app."""

from django.urls import path
from synnefo.admin.views import audit, auth, backends, networks, queues, servers, users

urlpatterns = [
    path("", backends.home, name="admin-home"),
    path("login", auth.login, name="admin-login"),
    path("logout", auth.logout, name="admin-logout"),
    path("backends/<int:backend_id>/<slug:action>", backends.backend_action, name="admin-backend-action"),
    path("servers/", servers.server_list, name="admin-servers"),
    path("servers/<int:vm_id>/", servers.server_detail, name="admin-server"),
    path("servers/<int:vm_id>/<slug:action>", servers.server_action, name="admin-server-action"),
    path("users/", users.user_list, name="admin-users"),
    path("users/<int:user_id>/", users.user_detail, name="admin-user"),
    path("users/<int:user_id>/<slug:action>", users.user_action, name="admin-user-action"),
    path("networks/", networks.network_list, name="admin-networks"),
    path("queues/", queues.queue_list, name="admin-queues"),
    path("queues/retry", queues.queue_retry, name="admin-queue-retry"),
    path("audit/", audit.audit_list, name="admin-audit"),
]
