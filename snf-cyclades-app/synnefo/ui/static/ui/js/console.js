// The server's console in the page: the API hands out a one-time address and
// password on the console proxy's WebSocket path (type vnc-ws, or vnc-wss on
// an https page); noVNC (vendored from npm by `make ui-assets`) speaks RFB
// with VNC authentication over it. Loaded only when a console is opened.

import {h, replace} from "./dom.js";

const NOVNC = new URL("../vendor/novnc-rfb.js", import.meta.url).href;

function websocketUrl(info) {
  const scheme = info.type === "vnc-wss" ? "wss" : "ws";
  // A proxy listening on every address names none: the page's host reaches it.
  let host = !info.host || info.host === "0.0.0.0" || info.host === "::" ? location.hostname : info.host;
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return `${scheme}://${host}:${info.port}/`;
}

/** Open the console of `server` in `panel`; resolves to {close()} once the
 * connection is under way, rejects with the API's fault or the loader's error. */
export async function openConsole(api, server, panel) {
  const type = location.protocol === "https:" ? "vnc-wss" : "vnc-ws";
  const [info, module] = await Promise.all([api.console(server.id, type), import(NOVNC)]);
  const RFB = module.default;
  const state = h("p", {class: "console-state", role: "status"}, "Connecting to the console…");
  const screen = h("div", {class: "console-screen", id: "console-screen",
    "aria-label": `Console of ${server.name}`, role: "application"});
  const ctrlAltDel = h("button", {type: "button", disabled: true}, "Send Ctrl+Alt+Del");
  const closeButton = h("button", {type: "button"}, "Close console");
  replace(panel, h("h2", {}, `Console of ${server.name}`), state, screen,
    h("div", {class: "actions"}, ctrlAltDel, closeButton));
  panel.hidden = false;

  const rfb = new RFB(screen, websocketUrl(info), {credentials: {password: info.password}});
  rfb.scaleViewport = true;
  rfb.background = "#111";
  let closed = false;
  rfb.addEventListener("connect", () => {
    state.textContent = `Connected to the console of ${server.name}. Click the screen to type into it.`;
    ctrlAltDel.disabled = false;
    rfb.focus();
  });
  rfb.addEventListener("securityfailure", (event) => {
    state.textContent = `The console refused the one-time password: ${event.detail.reason || "authentication failed"}.`;
    state.classList.add("error");
  });
  rfb.addEventListener("credentialsrequired", () => rfb.sendCredentials({password: info.password}));
  rfb.addEventListener("disconnect", (event) => {
    ctrlAltDel.disabled = true;
    if (closed) return;
    state.textContent = event.detail.clean
      ? "The console closed (the server stopped, or the session ended). Open it again with Console."
      : "The console connection was lost. Open it again with Console.";
    state.classList.add("error");
  });
  ctrlAltDel.addEventListener("click", () => rfb.sendCtrlAltDel());
  const session = {
    close() {
      if (closed) return;
      closed = true;
      try {
        rfb.disconnect();
      } catch {
        // already closed
      }
      replace(panel);
      panel.hidden = true;
    },
  };
  closeButton.addEventListener("click", () => session.close());
  return session;
}
