// The Cyclades web UI: sign-in, routing, polling with changes-since, and the
// connection banner. The views live in servers.js and networks.js.

import {Api, ApiFault, ConnectionLost} from "./api.js";
import {$, describe, notice, onError, showError} from "./dom.js";
import {renderNetworks, setupNetworkForm} from "./networks.js";
import {closeServerView, renderServerList, renderServerView, setupCreateDialog} from "./servers.js";

const config = JSON.parse($("ui-config").textContent);
const TOKEN_KEY = "cyclades.token";
const MAX_RETRY_SECONDS = 60;

const app = {
  api: null,
  servers: new Map(),
  networks: new Map(),
  flavors: [],
  images: [],
  limits: null,
  passwords: new Map(),     // server id -> adminPass, shown once after a create
  since: {servers: null, networks: null},
  route: {view: "servers", id: null},
  timer: null,
  ticks: 0,
  failures: 0,
  polling: false,
  rerender,
  refresh,
  refreshLimits,
  go,
};

// -- sign in / out ---------------------------------------------------------------

async function signIn(token, fromStorage) {
  const api = new Api(config.api, token);
  app.api = api;
  try {
    await refreshLimits();     // one cheap request checks the token first
    await Promise.all([refresh("servers", true), refresh("networks", true), loadCatalog()]);
  } catch (error) {
    app.api = null;
    if (error instanceof ApiFault && error.code === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showSignIn(fromStorage ? "Your session has ended: sign in again."
                             : `This token is not accepted: ${describe(error)}`);
      return;
    }
    showSignIn(`Cannot sign in: ${describe(error)}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("signin-token").value = "";
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  $("signin-view").hidden = true;
  schedulePoll();
  route(true);
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(app.timer);
  app.api = null;
  app.servers.clear();
  app.networks.clear();
  app.passwords.clear();
  app.since = {servers: null, networks: null};
  closeServerView();
  for (const id of ["servers-view", "server-view", "networks-view", "nav", "sign-out", "connection"]) {
    $(id).hidden = true;
  }
  showSignIn(message);
}

function showSignIn(message) {
  $("signin-view").hidden = false;
  showError($("signin-error"), message);
  $("signin-token").focus();
}

// -- data ------------------------------------------------------------------------

/** The `since` for the next poll: the server's clock at this answer, a second early. */
function nextSince(date) {
  const when = date ? new Date(date) : new Date(Date.now() - 10000);
  return new Date(when.getTime() - 1000).toISOString();
}

/** Fetch what changed in `collection` ("servers" or "networks") since the last time. */
async function refresh(collection, full = false) {
  const map = app[collection];
  let answer;
  const since = full ? null : app.since[collection];
  try {
    answer = await app.api.list(collection, since);
  } catch (error) {
    // A tab asleep past the API's POLL_LIMIT: start over with a full list.
    if (since && error instanceof ApiFault && error.code === 400) return refresh(collection, true);
    throw error;
  }
  if (!since) map.clear();
  for (const item of answer.items) {
    if (item.status === "DELETED") map.delete(String(item.id));
    else map.set(String(item.id), item);
  }
  app.since[collection] = nextSince(answer.date);
  return answer.changed;
}

async function loadCatalog() {
  const [flavors, images] = await Promise.all([app.api.flavors(), app.api.images()]);
  app.flavors = flavors;
  app.images = images;
}

async function refreshLimits() {
  app.limits = await app.api.limits();
  renderLimits();
}

function renderLimits() {
  const l = app.limits;
  if (!l) return;
  $("servers-limits").textContent =
    `${l.totalInstancesUsed} of ${l.maxTotalInstances} servers used.`;
  $("networks-limits").textContent =
    `${l["SNF:totalPrivateNetworksUsed"]} of ${l["SNF:maxTotalPrivateNetworks"]} private networks used.`;
}

// -- polling and the connection banner ---------------------------------------------

function schedulePoll(seconds = config.pollInterval) {
  clearTimeout(app.timer);
  app.timer = setTimeout(poll, seconds * 1000);
}

/** One poll, one request: the servers' changes; on the Networks view every
 * other poll asks for the networks' changes instead. */
async function poll() {
  if (!app.api || app.polling) return;
  app.polling = true;
  try {
    app.ticks += 1;
    const collection = app.route.view === "networks" && app.ticks % 2 ? "networks" : "servers";
    const changed = await refresh(collection);
    if (app.failures) connectionBack();
    if (changed) rerender();
    schedulePoll();
  } catch (error) {
    if (error instanceof ConnectionLost) connectionLost(error);
    else if (!handleAuth(error)) {
      notice(`Refreshing failed: ${describe(error)}`);
      schedulePoll();
    }
  } finally {
    app.polling = false;
  }
}

function connectionLost(error) {
  app.failures += 1;
  const wait = Math.min(config.pollInterval * 2 ** (app.failures - 1), MAX_RETRY_SECONDS);
  $("connection-text").textContent =
    `Connection to the API lost: ${error.message} Retrying in ${wait} s.`;
  $("connection").hidden = false;
  schedulePoll(wait);
}

function connectionBack() {
  app.failures = 0;
  $("connection").hidden = true;
  notice("Connection to the API is back.");
}

/** A 401 anywhere signs the user out; true if it did. */
function handleAuth(error) {
  if (error instanceof ApiFault && error.code === 401) {
    signOut(`You were signed out: the API no longer accepts your token (${error.message})`);
    return true;
  }
  return false;
}

onError((error) => {
  if (handleAuth(error)) return;
  if (error instanceof ConnectionLost && !app.failures) connectionLost(error);
});

// -- routing -------------------------------------------------------------------------

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  if (parts[0] === "networks") return {view: "networks", id: null};
  if (parts[0] === "servers" && parts[1]) return {view: "server", id: parts[1]};
  return {view: "servers", id: null};
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route(initial = false) {
  if (!app.api) return;
  const previous = app.route;
  app.route = parseRoute();
  const {view} = app.route;
  $("servers-view").hidden = view !== "servers";
  $("server-view").hidden = view !== "server";
  $("networks-view").hidden = view !== "networks";
  $("nav-servers").toggleAttribute("aria-current", view !== "networks");
  $("nav-networks").toggleAttribute("aria-current", view === "networks");
  if (view !== "server" || previous.id !== app.route.id) closeServerView();
  if (view === "networks") {
    try {
      await refresh("networks");
    } catch (error) {
      if (error instanceof ConnectionLost) connectionLost(error);
      else handleAuth(error);
    }
  }
  rerender(true);
  if (!initial || location.hash) {
    const heading = document.querySelector(`#${view}-view h1`);
    if (heading) heading.focus();
  }
}

/** Draw the current view from the data in `app` (keeping the focused element). */
function rerender(fresh = false) {
  const focused = document.activeElement && document.activeElement.id;
  const {view, id} = app.route;
  document.title = view === "networks" ? "Networks · Cyclades" : "Servers · Cyclades";
  if (view === "servers") renderServerList(app);
  else if (view === "server") renderServerView(app, id, fresh);
  else renderNetworks(app);
  renderLimits();
  if (focused && document.activeElement === document.body) {
    const again = document.getElementById(focused);
    if (again) again.focus();
  }
}

// -- start -----------------------------------------------------------------------------

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("signin-token").value.trim();
  if (!token) {
    showError($("signin-error"), "Enter your API token.");
    $("signin-token").focus();
    return;
  }
  signIn(token, false);
});
$("sign-out").addEventListener("click", () => signOut("You signed out."));
$("connection-retry").addEventListener("click", () => poll());
window.addEventListener("hashchange", () => route());
setupCreateDialog(app);
setupNetworkForm(app);

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved, true);
else showSignIn("");
