// Small helpers to build and update the page without a framework.

/** h("button", {type: "button", onclick: f}, "Label") -> element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (id) => document.getElementById(id);

/** Show `message` in the error element `el` (role=alert) or hide it. */
export function showError(el, message) {
  el.textContent = message || "";
  el.hidden = !message;
}

/** The trimmed value of a field the user must fill; empty: says so in `errorEl` and focuses it. */
export function filled(input, errorEl, message) {
  const value = input.value.trim();
  if (!value) {
    showError(errorEl, message);
    input.focus();
  }
  return value;
}

/** The words of an error for the user: the API's message, with its code. */
export function describe(error) {
  if (error && error.code) return `${error.message} (${error.name}, HTTP ${error.code})`;
  return error && error.message ? error.message : String(error);
}

let noticeTimer = null;
/** A short message in the polite live region at the bottom of the page. */
export function notice(text) {
  const el = $("notice");
  el.textContent = text;
  el.classList.add("shown");
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => el.classList.remove("shown"), 5000);
}

/** What `busy` resolves to when the work failed (its error is shown already). */
export const FAILED = Symbol("failed");
let errorHook = () => {};
/** `hook(error)` sees every error of `busy` (the app signs out on 401, shows lost connections). */
export function onError(hook) { errorHook = hook; }

/** Run `work` for a button: busy while it runs, its fault shown in `errorEl`
 * (next to the button); resolves to the work's result or to FAILED. */
export async function busy(button, errorEl, work) {
  if (errorEl) showError(errorEl, "");
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } catch (error) {
    if (errorEl) showError(errorEl, describe(error));
    errorHook(error);
    return FAILED;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
