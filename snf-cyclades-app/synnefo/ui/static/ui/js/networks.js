// Networks: the list, create, rename, delete, connect and disconnect servers;
// and the confirmation dialog that the destructive actions share.

import {$, FAILED, busy, filled, h, notice, replace, showError} from "./dom.js";

/** Ask a yes/no question in a modal dialog; resolves to true for `yes`. */
export function confirmDialog(title, text, yes) {
  return new Promise((resolve) => {
    const dialog = h("dialog", {class: "confirm", "aria-labelledby": "confirm-title",
      "aria-describedby": "confirm-text"},
    h("h2", {id: "confirm-title"}, title),
    h("p", {id: "confirm-text"}, text),
    h("div", {class: "buttons"},
      h("button", {type: "button", class: "danger", onclick: () => dialog.close("yes")}, yes),
      h("button", {type: "button", onclick: () => dialog.close("no"), autofocus: true}, "Cancel")));
    const opener = document.activeElement;
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** The servers of the caller on network `id`, with their NIC there. */
function members(app, id) {
  const found = [];
  for (const server of app.servers.values()) {
    for (const nic of server.attachments ? server.attachments.values : []) {
      if (String(nic.network_id) === String(id)) found.push({server, nic});
    }
  }
  return found.sort((a, b) => a.server.id - b.server.id);
}

function after(app, message) {
  notice(message);
  return Promise.all([app.refresh("networks"), app.refresh("servers")])
    .catch(() => {}).then(() => app.rerender());
}

function networkCard(app, network) {
  const id = network.id;
  const nameId = `network-${id}-name`;
  const error = h("p", {class: "error", role: "alert", hidden: true, id: `network-${id}-error`});
  const on = members(app, id);
  const info = h("p", {}, h("span", {class: `badge status-${network.status.toLowerCase()}`}, network.status),
    ` ${network.cidr || ""}${network.cidr6 ? " · " + network.cidr6 : ""} · ${network.type}`,
    network.dhcp ? " · DHCP" : "");
  const list = h("ul", {class: "members", "aria-label": `Servers on ${network.name}`},
    on.length ? on.map(({server, nic}) => h("li", {},
      `${server.name} (${nic.ipv4 || nic.ipv6 || nic.mac_address})`,
      network.public ? null : h("button", {type: "button", id: `network-${id}-disconnect-${nic.id}`,
        "aria-label": `Disconnect ${server.name} from ${network.name}`,
        onclick: async (event) => {
          const result = await busy(event.currentTarget, error, () => app.api.disconnect(id, nic.id));
          if (result !== FAILED) await after(app, `${server.name} is being disconnected from ${network.name}.`);
        }}, "Disconnect")))
      : h("li", {class: "muted"}, "No server of yours is connected."));
  const card = h("li", {class: "card", "aria-labelledby": nameId},
    h("h2", {id: nameId}, network.name, network.public ? h("span", {class: "muted"}, " (public)") : ""),
    info, list);
  if (network.public) return card;

  const connectable = [...app.servers.values()].filter((s) => !on.some((m) => m.server.id === s.id))
    .sort((a, b) => a.id - b.id);
  if (!connectable.length) {
    card.append(h("p", {class: "muted"}, app.servers.size ? "All your servers are connected to it."
      : "Create a server to connect it here."));
  }
  const select = h("select", {id: `network-${id}-server`},
    connectable.map((s) => h("option", {value: s.id}, s.name)));
  const connectButton = h("button", {type: "submit", disabled: !connectable.length}, "Connect");
  const connect = h("form", {class: "inline", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const server = app.servers.get(select.value);
    if (!server) return;
    const result = await busy(connectButton, error, () => app.api.connect(id, server.id));
    if (result !== FAILED) await after(app, `${server.name} is being connected to ${network.name}.`);
  }}, h("label", {for: `network-${id}-server`}, `Server to connect to ${network.name}`), select,
  connectButton);

  const renameInput = h("input", {id: `network-${id}-rename`, value: network.name});
  const renameButton = h("button", {type: "submit"}, "Rename");
  const rename = h("form", {class: "inline", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const name = renameInput.value.trim();
    const result = await busy(renameButton, error, () => app.api.renameNetwork(id, name));
    if (result !== FAILED) await after(app, `Network renamed to ${name}.`);
  }}, h("label", {for: `network-${id}-rename`}, `New name for ${network.name}`), renameInput, renameButton);

  const remove = h("button", {type: "button", class: "danger", id: `network-${id}-delete`,
    "aria-label": `Delete network ${network.name}`, onclick: async (event) => {
      const button = event.currentTarget;
      const ok = await confirmDialog(`Delete network ${network.name}?`,
        "Disconnect its servers first; the network is removed from every cluster.", "Delete network");
      if (!ok) return;
      const result = await busy(button, error, () => app.api.deleteNetwork(id));
      if (result !== FAILED) {
        await after(app, `Network ${network.name} is being deleted.`);
        app.refreshLimits().catch(() => {});
      }
    }}, "Delete…");
  card.append(connectable.length ? connect : "", rename, h("div", {class: "actions"}, remove), error);
  return card;
}

let signatures = new Map();   // network id -> what its card shows, to redraw only changed cards

export function renderNetworks(app) {
  const list = $("networks-list");
  const networks = [...app.networks.values()].sort((a, b) => Number(a.id) - Number(b.id));
  const seen = new Map();
  const cards = networks.map((network) => {
    const signature = JSON.stringify([network, members(app, network.id).map((m) => [m.server.name, m.nic]),
      network.public ? null : [...app.servers.values()].map((s) => [s.id, s.name])]);
    seen.set(network.id, signature);
    const old = document.getElementById(`network-${network.id}-card`);
    if (old && signatures.get(network.id) === signature) return old;
    const card = networkCard(app, network);
    card.id = `network-${network.id}-card`;
    if (old) {
      // Keep what the user was typing or choosing in the card being redrawn.
      for (const field of old.querySelectorAll("input, select")) {
        const twin = card.querySelector(`#${CSS.escape(field.id)}`);
        if (twin && field.value && [...(twin.options || [{value: field.value}])].some((o) => o.value === field.value)) {
          twin.value = field.value;
        }
      }
      const oldError = old.querySelector(".error");
      const newError = card.querySelector(".error");
      if (oldError && newError && !oldError.hidden) showError(newError, oldError.textContent);
    }
    return card;
  });
  signatures = seen;
  replace(list, cards.length ? cards : h("li", {class: "muted"}, "No networks."));
}

export function setupNetworkForm(app) {
  const form = $("network-create-form");
  const error = $("network-create-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = filled($("network-name"), error, "Give the network a name.");
    if (!name) return;
    const body = {name};
    const cidr = $("network-cidr").value.trim();
    if (cidr) body.cidr = cidr;
    const network = await busy(form.querySelector("button[type=submit]"), error, () => app.api.createNetwork(body));
    if (network === FAILED) return;
    $("network-name").value = "";
    app.networks.set(String(network.id), network);
    await after(app, `Network ${network.name} is being created.`);
    app.refreshLimits().catch(() => {});
  });
}
