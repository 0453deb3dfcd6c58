// The compute API client of the page: every call goes through `request`,
// which turns answers into data, API faults into ApiFault and a lost
// connection into ConnectionLost. Nothing here touches the page.

/** An answer of the API that is a fault: {name, code, message}. */
export class ApiFault extends Error {
  constructor(name, code, message) {
    super(message);
    this.name = name;
    this.code = code;
  }
}

/** The API could not be reached (network down, proxy error, server gone). */
export class ConnectionLost extends Error {}

/** A fault body is {"<faultName>": {"code", "message", "details"}}. */
function faultOf(status, body) {
  if (body && typeof body === "object") {
    const names = Object.keys(body);
    const inner = names.length === 1 ? body[names[0]] : null;
    if (inner && typeof inner === "object" && "message" in inner) {
      return new ApiFault(names[0], inner.code || status, inner.message || `HTTP ${status}`);
    }
  }
  return null;
}

export class Api {
  constructor(base, token) {
    this.base = base.endsWith("/") ? base : base + "/";
    this.token = token;
  }

  /** Resolve to {status, body, date}; `date` is the server's clock (the Date header). */
  async request(method, path, body) {
    const headers = {"X-Auth-Token": this.token, "Accept": "application/json"};
    const init = {method, headers, cache: "no-store"};
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.base + path, init);
    } catch (error) {
      throw new ConnectionLost(`The API does not answer (${error.message}).`);
    }
    const text = await response.text().catch(() => "");
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (response.ok || response.status === 304) {
      return {status: response.status, body: data, date: response.headers.get("Date")};
    }
    const fault = faultOf(response.status, data);
    if (fault) throw fault;
    // Not the API speaking: a proxy or the server itself failing.
    throw new ConnectionLost(`The API answered HTTP ${response.status} without a fault.`);
  }

  get(path) { return this.request("GET", path); }
  post(path, body) { return this.request("POST", path, body); }
  put(path, body) { return this.request("PUT", path, body); }
  delete(path) { return this.request("DELETE", path); }

  // -- resources ------------------------------------------------------------
  async list(collection, since) {
    const query = since ? `?changes-since=${encodeURIComponent(since)}` : "";
    const answer = await this.get(`${collection}/detail${query}`);
    const items = answer.status === 304 ? [] : answer.body[collection].values;
    return {items, date: answer.date, changed: answer.status !== 304};
  }
  async limits() { return (await this.get("limits")).body.limits.absolute; }
  async flavors() { return (await this.get("flavors/detail")).body.flavors.values; }
  async images() { return (await this.get("images/detail")).body.images.values; }
  async server(id) { return (await this.get(`servers/${id}`)).body.server; }
  async diagnostics(id) { return (await this.get(`servers/${id}/diagnostics`)).body; }
  async createServer(server) { return (await this.post("servers", {server})).body.server; }
  renameServer(id, name) { return this.put(`servers/${id}`, {server: {name}}); }
  deleteServer(id) { return this.delete(`servers/${id}`); }
  action(id, body) { return this.post(`servers/${id}/action`, body); }
  async console(id, type) { return (await this.action(id, {console: {type}})).body.console; }
  setMeta(id, key, value) {
    return this.put(`servers/${id}/meta/${encodeURIComponent(key)}`, {meta: {[key]: value}});
  }
  deleteMeta(id, key) { return this.delete(`servers/${id}/meta/${encodeURIComponent(key)}`); }
  async createNetwork(network) { return (await this.post("networks", {network})).body.network; }
  renameNetwork(id, name) { return this.put(`networks/${id}`, {network: {name}}); }
  deleteNetwork(id) { return this.delete(`networks/${id}`); }
  connect(networkId, serverId) { return this.post(`networks/${networkId}/action`, {add: {serverRef: serverId}}); }
  disconnect(networkId, nicId) { return this.post(`networks/${networkId}/action`, {remove: {attachment: nicId}}); }
}
