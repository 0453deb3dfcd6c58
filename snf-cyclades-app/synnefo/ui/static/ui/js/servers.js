// Servers: the list, the create dialog and one server's page (actions,
// rename, firewall, metadata, addresses, diagnostics, console).

import {$, FAILED, busy, describe, filled, formatTime, h, notice, replace, showError} from "./dom.js";
import {confirmDialog} from "./networks.js";

const STATUS_WORDS = {
  BUILD: "Building", ACTIVE: "Running", STOPPED: "Stopped", REBOOT: "Rebooting",
  ERROR: "Error", DELETED: "Deleted", UNKNOWN: "Unknown",
};
const TASK_WORDS = {
  BUILD: "being built", START: "starting", STOP: "shutting down", REBOOT: "rebooting",
  DESTROY: "being deleted", CONNECT: "connecting to a network", DISCONNECT: "leaving a network",
  FIREWALL: "changing its firewall",
};
const FIREWALL_PROFILES = [
  ["ENABLED", "Enabled (only SSH, RDP, ICMP in)"],
  ["PROTECTED", "Protected (limited)"],
  ["DISABLED", "Disabled (everything in)"],
];

export function nics(server) {
  return server.attachments ? server.attachments.values : [];
}

function addresses(server) {
  return nics(server).flatMap((nic) => [nic.ipv4, nic.ipv6].filter(Boolean));
}

function statusBadge(server) {
  const task = server["SNF:task_state"];
  return h("span", {class: `badge status-${server.status.toLowerCase()}`},
    STATUS_WORDS[server.status] || server.status,
    task && TASK_WORDS[task] && task !== server.status ? ` (${TASK_WORDS[task]})` : "");
}

function progressOf(server, labelId) {
  if (server.status !== "BUILD") return null;
  return h("progress", {max: 100, value: server.progress || 0, "aria-labelledby": labelId,
    title: `${server.progress || 0}% built`}, `${server.progress || 0}%`);
}

function sortedServers(app) {
  return [...app.servers.values()].sort((a, b) => a.id - b.id);
}

// -- the list ---------------------------------------------------------------------------

export function renderServerList(app) {
  const list = $("servers-list");
  const servers = sortedServers(app);
  $("servers-empty").hidden = servers.length > 0;
  replace(list, servers.map((server) => {
    const nameId = `server-${server.id}-name`;
    const ips = addresses(server);
    return h("li", {class: "card", "aria-labelledby": nameId},
      h("h2", {id: nameId}, h("a", {href: `#/servers/${server.id}`, id: `server-${server.id}-link`}, server.name)),
      h("p", {}, statusBadge(server), " ", progressOf(server, nameId),
        server.status === "BUILD" ? h("span", {class: "muted"}, ` ${server.progress || 0}% built`) : null),
      h("p", {class: "addresses"}, ips.length ? ips.join(", ") : h("span", {class: "muted"}, "no address yet")));
  }));
}

// -- the create dialog ---------------------------------------------------------------

function metaRow(container, key = "", value = "") {
  const n = container.children.length + 1;
  const row = h("div", {class: "meta-row"},
    h("label", {for: `create-meta-key-${n}`}, `Metadata key ${n}`),
    h("input", {id: `create-meta-key-${n}`, class: "meta-key", value: key}),
    h("label", {for: `create-meta-value-${n}`}, `Metadata value ${n}`),
    h("input", {id: `create-meta-value-${n}`, class: "meta-value", value: value}),
    h("button", {type: "button", "aria-label": `Remove metadata item ${n}`,
      onclick: () => row.remove()}, "Remove"));
  container.append(row);
  return row;
}

function limitsText(limits) {
  if (!limits) return "";
  const left = limits.maxTotalInstances - limits.totalInstancesUsed;
  return `Limits: ${limits.totalInstancesUsed} of ${limits.maxTotalInstances} servers used` +
    (left <= 0 ? " (no server left: a create will be refused)" : ` (${left} left)`) +
    `; names up to ${limits["SNF:maxServerNameLength"]} characters; up to ${limits.maxServerMeta} ` +
    `metadata items, keys up to ${limits["SNF:maxMetadataKeyLength"]} and values up to ` +
    `${limits["SNF:maxMetadataValueLength"]} characters.`;
}

export function setupCreateDialog(app) {
  const dialog = $("create-dialog");
  const form = $("create-form");
  const meta = $("create-meta");
  const error = $("create-error");

  $("new-server").addEventListener("click", async () => {
    showError(error, "");
    replace(meta);
    form.reset();
    replace($("create-image"), app.images.map((image) => h("option", {value: image.id}, image.name)));
    replace($("create-flavor"), app.flavors.map((f) => h("option", {value: f.id},
      `${f.name}: ${f.cpu} CPU, ${f.ram} MiB RAM, ${f.disk} GiB disk (${f["SNF:disk_template"]})`)));
    $("create-limits").textContent = limitsText(app.limits);
    dialog.showModal();
    $("create-name").focus();
    // Fresh figures: another tab or client may have created servers meanwhile.
    try {
      await app.refreshLimits();
      $("create-limits").textContent = limitsText(app.limits);
    } catch (err) {
      showError(error, `Limits unavailable: ${describe(err)}`);
    }
  });
  $("create-meta-add").addEventListener("click", () => metaRow(meta).querySelector("input").focus());
  $("create-cancel").addEventListener("click", () => dialog.close());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = filled($("create-name"), error, "Give the server a name.");
    if (!name) return;
    const metadata = {};
    for (const row of meta.children) {
      const key = row.querySelector(".meta-key").value.trim();
      if (key) metadata[key] = row.querySelector(".meta-value").value;
    }
    const body = {name, imageRef: $("create-image").value, flavorRef: Number($("create-flavor").value)};
    if (Object.keys(metadata).length) body.metadata = metadata;
    const server = await busy($("create-submit"), error, () => app.api.createServer(body));
    if (server === FAILED) return;
    dialog.close();
    app.servers.set(String(server.id), server);
    if (server.adminPass) app.passwords.set(String(server.id), server.adminPass);
    notice(`Server ${server.name} is being built.`);
    app.go(`#/servers/${server.id}`);
    app.refreshLimits().catch(() => {});
  });
}

// -- one server ---------------------------------------------------------------------------

let view = null;   // the parts of the open server page, built once per server

export function closeServerView() {
  if (view && view.console) view.console.close();
  view = null;
  replace($("server-view"));
}

function networkName(app, id) {
  const network = app.networks.get(String(id));
  return network ? network.name : `network ${id}`;
}

function buildServerView(app, server) {
  const id = server.id;
  const section = $("server-view");
  const actionError = h("p", {class: "error", id: "server-action-error", role: "alert", hidden: true});
  const act = (label, body, done, extra = {}) => h("button", {type: "button", id: extra.id,
    onclick: async (event) => {
      const result = await busy(event.currentTarget, actionError, () => app.api.action(id, body));
      if (result !== FAILED) {
        notice(`${v.server.name}: ${done}.`);
        await app.refresh("servers").catch(() => {});
        app.rerender();
      }
    }}, label);
  const v = {id: String(id), server};
  v.title = h("h1", {id: "server-title", tabindex: "-1"}, server.name);
  v.status = h("div", {class: "status-line", "aria-live": "polite"});
  v.password = h("div");
  v.buttons = {
    start: act("Start", {start: {}}, "starting", {id: "server-start"}),
    shutdown: act("Shut down", {shutdown: {}}, "shutting down", {id: "server-shutdown"}),
    reboot: act("Reboot", {reboot: {type: "SOFT"}}, "rebooting", {id: "server-reboot"}),
    hardReboot: act("Hard reboot", {reboot: {type: "HARD"}}, "rebooting (hard)", {id: "server-hard-reboot"}),
    console: h("button", {type: "button", id: "server-console", onclick: () => openConsole(app, actionError)},
      "Console"),
    remove: h("button", {type: "button", id: "server-delete", class: "danger", onclick: async (event) => {
      const button = event.currentTarget;
      const ok = await confirmDialog(`Delete server ${v.server.name}?`,
        "Its disks are destroyed and its addresses released. This cannot be undone.", "Delete server");
      if (!ok) return;
      const result = await busy(button, actionError, () => app.api.deleteServer(id));
      if (result !== FAILED) {
        notice(`Server ${v.server.name} is being deleted.`);
        await app.refresh("servers").catch(() => {});
        app.refreshLimits().catch(() => {});
        app.rerender();
      }
    }}, "Delete…"),
  };
  v.consolePanel = h("div", {class: "console", id: "console-panel", hidden: true});

  // rename
  const renameError = h("p", {class: "error", role: "alert", hidden: true});
  const renameInput = h("input", {id: "server-rename", value: server.name, required: true});
  const renameButton = h("button", {type: "submit"}, "Rename");
  const renameForm = h("form", {class: "inline", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const name = renameInput.value.trim();
    const result = await busy(renameButton, renameError, () => app.api.renameServer(id, name));
    if (result !== FAILED) {
      notice(`Renamed to ${name}.`);
      await app.refresh("servers").catch(() => {});
      app.rerender();
    }
  }}, h("label", {for: "server-rename"}, "Server name"), renameInput, renameButton, renameError);

  // firewall
  const fwError = h("p", {class: "error", role: "alert", hidden: true});
  v.firewall = h("select", {id: "server-firewall"},
    FIREWALL_PROFILES.map(([value, words]) => h("option", {value}, words)));
  const fwButton = h("button", {type: "submit"}, "Apply firewall profile");
  const fwForm = h("form", {class: "inline", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const profile = v.firewall.value;
    const result = await busy(fwButton, fwError, () => app.api.action(id, {firewallProfile: {profile}}));
    if (result !== FAILED) notice(`Firewall profile ${profile} is being applied.`);
  }}, h("label", {for: "server-firewall"}, "Firewall profile"), v.firewall, fwButton, fwError);

  // metadata
  v.metaError = h("p", {class: "error", role: "alert", hidden: true, id: "meta-error"});
  v.metaTable = h("tbody");
  const keyInput = h("input", {id: "meta-key", required: true});
  const valueInput = h("input", {id: "meta-value"});
  const metaButton = h("button", {type: "submit"}, "Save metadata item");
  const metaForm = h("form", {class: "inline", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const key = filled(keyInput, v.metaError, "Give the item a key.");
    if (!key) return;
    const result = await busy(metaButton, v.metaError, () => app.api.setMeta(id, key, valueInput.value));
    if (result !== FAILED) {
      keyInput.value = "";
      valueInput.value = "";
      notice(`Metadata ${key} saved.`);
      await app.refresh("servers").catch(() => {});
      app.rerender();
    }
  }}, h("label", {for: "meta-key"}, "Key"), keyInput, h("label", {for: "meta-value"}, "Value"), valueInput,
  metaButton);

  // diagnostics
  v.diagnostics = h("div", {id: "server-diagnostics"});
  v.diagError = h("p", {class: "error", role: "alert", hidden: true});
  const diagButton = h("button", {type: "button", onclick: (event) => loadDiagnostics(app, event.currentTarget)},
    "Show all diagnostics");
  v.diagButton = diagButton;

  v.addresses = h("tbody");
  replace(section,
    h("p", {}, h("a", {href: "#/servers"}, "← All servers")),
    v.title, v.status, v.password,
    h("div", {role: "group", "aria-label": "Server actions", class: "actions"}, Object.values(v.buttons)),
    actionError, v.consolePanel,
    h("h2", {}, "Name"), renameForm,
    h("h2", {}, "Addresses"),
    h("table", {}, h("caption", {class: "sr-only"}, "Addresses of the server"),
      h("thead", {}, h("tr", {}, ["Network", "IPv4", "IPv6", "MAC address", "Firewall"].map(
        (title) => h("th", {scope: "col"}, title)))), v.addresses),
    h("h2", {}, "Firewall"), fwForm,
    h("h2", {}, "Metadata"),
    h("table", {}, h("caption", {class: "sr-only"}, "Metadata of the server"),
      h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Key"), h("th", {scope: "col"}, "Value"),
        h("th", {scope: "col"}, h("span", {class: "sr-only"}, "Actions")))), v.metaTable),
    metaForm, v.metaError,
    h("h2", {}, "Diagnostics"), v.diagnostics, diagButton, v.diagError);
  return v;
}

function updateServerView(app, server) {
  const v = view;
  const id = server.id;
  v.server = server;
  v.title.textContent = server.name;
  replace(v.status, statusBadge(server), " ", progressOf(server, "server-title"),
    server.status === "BUILD" ? ` ${server.progress || 0}% built` : "",
    h("span", {class: "muted"}, ` · created ${formatTime(server.created)} · updated ${formatTime(server.updated)}`));
  const password = app.passwords.get(String(id));
  replace(v.password, password ? h("p", {class: "secret"},
    "Root password: ", h("code", {}, password),
    " (the API shows it once; this page forgets it when you leave: note it down).") : null);
  const busyTask = Boolean(server["SNF:task_state"]);
  const s = server.status;
  v.buttons.start.disabled = s !== "STOPPED" || busyTask;
  v.buttons.shutdown.disabled = s !== "ACTIVE" || busyTask;
  v.buttons.reboot.disabled = s !== "ACTIVE" || busyTask;
  v.buttons.hardReboot.disabled = !["ACTIVE", "ERROR", "STOPPED"].includes(s) || busyTask;
  v.buttons.console.disabled = s !== "ACTIVE";
  const publicNic = nics(server).find((nic) => nic.firewallProfile);
  if (publicNic && document.activeElement !== v.firewall) v.firewall.value = publicNic.firewallProfile;

  replace(v.addresses, nics(server).length ? nics(server).map((nic) => h("tr", {},
    h("td", {}, networkName(app, nic.network_id)), h("td", {}, nic.ipv4 || "—"), h("td", {}, nic.ipv6 || "—"),
    h("td", {}, nic.mac_address), h("td", {}, nic.firewallProfile || "—")))
    : h("tr", {}, h("td", {colspan: 5, class: "muted"}, "No address yet.")));

  const metadata = server.metadata ? server.metadata.values : {};
  const keys = Object.keys(metadata).sort();
  replace(v.metaTable, keys.length ? keys.map((key) => h("tr", {},
    h("td", {}, key), h("td", {}, metadata[key]),
    h("td", {}, h("button", {type: "button", id: `meta-delete-${key}`, "aria-label": `Delete metadata item ${key}`,
      onclick: async (event) => {
        const result = await busy(event.currentTarget, v.metaError, () => app.api.deleteMeta(id, key));
        if (result !== FAILED) {
          notice(`Metadata ${key} deleted.`);
          await app.refresh("servers").catch(() => {});
          app.rerender();
        }
      }}, "Delete")))) : h("tr", {}, h("td", {colspan: 3, class: "muted"}, "No metadata.")));

  if (!v.allDiagnostics) renderDiagnostics(server.diagnostics || []);
}

function renderDiagnostics(items) {
  replace(view.diagnostics, items.length ? h("ol", {class: "diagnostics"}, items.map((d) => h("li", {},
    h("p", {}, h("strong", {}, d.level || "info"), ` · ${formatTime(d.source_date || d.created)} · ${d.source}`),
    h("p", {}, d.message), d.details && d.details !== d.message ? h("pre", {}, d.details) : null)))
    : h("p", {class: "muted"}, "Nothing to report."));
}

async function loadDiagnostics(app, button) {
  const items = await busy(button, view.diagError, () => app.api.diagnostics(view.id));
  if (items === FAILED || !view) return;
  view.allDiagnostics = true;
  renderDiagnostics(items);
  button.hidden = true;
}

export function renderServerView(app, id) {
  const server = app.servers.get(String(id));
  const section = $("server-view");
  if (!server) {
    closeServerView();
    replace(section, h("p", {}, h("a", {href: "#/servers"}, "← All servers")),
      h("h1", {tabindex: "-1"}, "Server not found"),
      h("p", {}, `There is no server ${id} among yours (it may have been deleted).`));
    return;
  }
  if (!view || view.id !== String(id)) {
    closeServerView();
    view = buildServerView(app, server);
  }
  updateServerView(app, server);
  if (server.status === "ERROR" && !view.allDiagnostics && !view.loadingDiagnostics) {
    // A failed build: say why, in Ganeti's words, without a click.
    view.loadingDiagnostics = true;
    app.api.diagnostics(server.id).then((items) => {
      if (view && view.id === String(server.id)) {
        view.allDiagnostics = true;
        renderDiagnostics(items);
        view.diagButton.hidden = true;
      }
    }).catch((error) => view && showError(view.diagError, describe(error)));
  }
}

// -- console -------------------------------------------------------------------------------

async function openConsole(app, errorEl) {
  const {openConsole: open} = await import("./console.js");
  if (view.console) view.console.close();
  const result = await busy(view.buttons.console, errorEl, () => open(app.api, view.server, view.consolePanel));
  if (result !== FAILED && view) view.console = result;
}
