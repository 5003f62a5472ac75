// corsair demo: calls an API on another origin with cookies, and shows for
// each call what the script sent, what the server saw and answered, and
// what the browser let the script have. Plain JavaScript: no library, no
// build step. The trusted page and the attacker's page share this file.
"use strict";

const API = document.body.dataset.api; // the API's origin
const ROLE = document.body.dataset.role; // "page" or "attacker"
const RUN = Math.random().toString(36).slice(2, 8) || "run";
let counter = 0;

// For tests and the curious: one object per call, filled as calls finish.
window.demoResults = [];

// The calls, in order. `how` is the browser API that makes the call.
const CALLS = [
  { name: "login", how: "fetch", method: "POST", path: "/login", body: { user: "ada" },
    why: "A JSON body: content-type application/json is not a CORS-safelisted value, so the browser asks the server first (a preflight)." },
  { name: "me", how: "xhr", method: "GET", path: "/me",
    why: "A GET with safelisted headers only is a simple request: no preflight. withCredentials, set by the prefilter, makes the browser send the session cookie." },
  { name: "put", how: "fetch", method: "PUT", path: "/items/1", body: { name: "buy milk", done: false },
    why: "PUT is not a CORS-safelisted method, and the body is JSON: preflight." },
  { name: "get", how: "fetch", method: "GET", path: "/items/1",
    why: "A simple request again: no preflight, the cookie goes along (SameSite=Lax: the API is on this page's site)." },
  { name: "patch", how: "fetch", method: "PATCH", path: "/items/1", body: { done: true },
    why: "PATCH must be listed by the server (and is case-sensitive: patch is not PATCH): preflight." },
  { name: "delete", how: "fetch", method: "DELETE", path: "/items/1",
    why: "No body, but DELETE is not safelisted: preflight." },
];

// On the attacker's page the calls are the same, but the page is on
// another site, and the session cookie is SameSite=Lax: no engine sends it
// from here. Each card says so, and shows the request the server saw.
const ATTACKER_COOKIES =
  "From this page the call is cross-site: the session cookie, SameSite=Lax, stays home in every " +
  "browser, and the answer is hidden either way.";

// ---------------------------------------------------------------------------
// XMLHttpRequest, with credentials turned on once for every call.
//
// jQuery users write, once:
//
//   $.ajaxPrefilter(function (options) {
//     options.xhrFields = { withCredentials: true };
//   });
//
// jQuery runs every prefilter on a call's options before the call is made,
// then copies `options.xhrFields` onto the XMLHttpRequest object, so each
// request gets `xhr.withCredentials = true`. Without it a cross-origin
// XMLHttpRequest sends no cookie and ignores Set-Cookie. The few lines
// below do the same without jQuery.
const prefilters = [];
function ajaxPrefilter(prefilter) {
  prefilters.push(prefilter);
}
ajaxPrefilter((options) => {
  options.xhrFields = { withCredentials: true };
});

function ajax(options) {
  for (const prefilter of prefilters) prefilter(options);
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open(options.method, options.url);
    Object.assign(xhr, options.xhrFields || {});
    for (const [name, value] of Object.entries(options.headers || {})) {
      xhr.setRequestHeader(name, value);
    }
    // A response the browser hands over fires `load`, whatever its status;
    // a blocked one fires `error` with status 0 and nothing readable.
    xhr.onload = () => resolve({ ok: true, xhr });
    xhr.onerror = () => resolve({ ok: false, xhr });
    xhr.send(options.data === undefined ? null : options.data);
  });
}

async function viaXhr(call, url) {
  const options = { method: call.method, url, headers: { accept: "application/json" } };
  if (call.body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.data = JSON.stringify(call.body);
  }
  const { ok, xhr } = await ajax(options);
  const sent = {
    api: "XMLHttpRequest", method: call.method, url, mode: "cors",
    credentials: `withCredentials = ${xhr.withCredentials} (set by the prefilter)`,
    headers: options.headers, body: options.data === undefined ? null : options.data,
  };
  if (!ok) {
    return { sent, verdict: "blocked", error: `error event, status ${xhr.status}` };
  }
  const readable = {};
  for (const line of xhr.getAllResponseHeaders().trim().split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) readable[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { sent, verdict: "allowed", status: xhr.status, body: xhr.responseText, readable };
}

// ---------------------------------------------------------------------------
// fetch: cookies go cross-origin only with credentials: "include", and the
// browser hands the answer over only if the server allows this exact origin
// with Access-Control-Allow-Credentials: true.
async function viaFetch(call, url) {
  const init = { method: call.method, mode: "cors", credentials: "include",
                 headers: { accept: "application/json" } };
  if (call.body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(call.body);
  }
  const sent = {
    api: "fetch", method: call.method, url, mode: init.mode, credentials: init.credentials,
    headers: init.headers, body: init.body === undefined ? null : init.body,
  };
  try {
    const response = await fetch(url, init);
    // Only CORS-safelisted response headers and those the server exposes
    // are visible here; the others exist, but not for this script.
    const readable = {};
    response.headers.forEach((value, name) => { readable[name] = value; });
    const body = await response.text();
    return { sent, verdict: "allowed", status: response.status, body, readable };
  } catch (error) {
    return { sent, verdict: "blocked", error: `${error.name}: ${error.message}` };
  }
}

// ---------------------------------------------------------------------------
// What the server saw: its log, read from this page's own origin.
async function exchangesOf(id) {
  try {
    const response = await fetch(`/exchanges?call=${encodeURIComponent(id)}`);
    return response.ok ? await response.json() : [];
  } catch (error) {
    return [];
  }
}

const header = (pairs, name) => {
  const found = (pairs || []).find(([candidate]) => candidate === name);
  return found ? found[1] : null;
};

// Why the browser blocked a call, from what the server answered. The server
// judges each answer with corsair's model of the browser (`cors_failure`);
// this only puts the sentences together.
function reason(preflight, actual) {
  if (preflight) {
    const failure = preflight.cors_failure;
    const status = preflight.status < 200 || preflight.status > 299 ? `status ${preflight.status}` : null;
    const problem = [status, failure].filter(Boolean).join("; ");
    if (problem && !actual) {
      return `The preflight failed (${problem}), so the browser never sent the request: the application did not run.`;
    }
  }
  if (actual) {
    const problem = actual.cors_failure || "the CORS check failed";
    const cookie = header(actual.request_headers, "cookie")
      ? "with the cookie"
      : ROLE === "attacker"
        ? "without the session cookie: it is SameSite=Lax, and this page is another site than the API's"
        : "without a cookie";
    return `The request reached the server (${cookie}) and it answered ${actual.status}, but the browser hid the answer from this script: ${problem}`;
  }
  return "The request never reached the server.";
}

// ---------------------------------------------------------------------------
// Rendering. Everything is built with DOM calls and textContent: nothing the
// server or a response says is ever parsed as HTML.
function el(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, value);
  for (const child of children) {
    if (child !== null && child !== undefined) {
      element.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return element;
}

function section(title, ...content) {
  return el("section", {}, el("h3", {}, title), ...content);
}

const INTERESTING_REQUEST_HEADERS = [
  "origin", "cookie", "content-type", "accept",
  "access-control-request-method", "access-control-request-headers",
  "sec-fetch-mode", "sec-fetch-site",
];

function requestLines(exchange) {
  const lines = [`${exchange.method} ${exchange.target}`];
  let others = 0;
  for (const [name, value] of exchange.request_headers) {
    if (INTERESTING_REQUEST_HEADERS.includes(name)) lines.push(`${name}: ${value}`);
    else others += 1;
  }
  if (!header(exchange.request_headers, "cookie")) lines.push("(no cookie)");
  if (others) lines.push(`(${others} more headers)`);
  return el("pre", {}, lines.join("\n"));
}

function responseTable(exchange, readable) {
  const rows = exchange.response_headers.map(([name, value]) => {
    let mark = "";
    if (readable) {
      const visible = Object.prototype.hasOwnProperty.call(readable, name);
      mark = visible
        ? el("span", { class: "readable", title: "the script can read this header" }, "readable")
        : el("span", { class: "hidden", title: "sent, but the browser does not show it to the script" }, "hidden");
    }
    return el("tr", {}, el("td", {}, name), el("td", {}, value), el("td", {}, mark));
  });
  return el("div", {},
    el("p", { class: "status" }, `${exchange.status}${exchange.reached_app ? "" : " (answered by corsair; the application did not run)"}`),
    el("table", {}, ...rows));
}

function sentBlock(sent) {
  const lines = [
    `${sent.api}: ${sent.method} ${sent.url}`,
    `mode: ${sent.mode}`,
    `credentials: ${sent.credentials}`,
    ...Object.entries(sent.headers).map(([name, value]) => `${name}: ${value}`),
  ];
  if (sent.body !== null) lines.push("", sent.body);
  return el("pre", {}, lines.join("\n"));
}

function newCard(number, call, id) {
  const how = call.how === "xhr" ? "XMLHttpRequest" : "fetch";
  const verdict = el("span", { class: "verdict pending" }, "running…");
  const card = el("article", { class: "card", "data-call": call.name, "data-id": id, "data-verdict": "pending" },
    el("h2", {}, `${number}. ${how} ${call.method} ${call.path} `, verdict),
    el("p", { class: "why" }, ROLE === "attacker" ? `${call.why} ${ATTACKER_COOKIES}` : call.why));
  document.getElementById("calls").append(card);
  return { card, verdict };
}

function fillCard({ card, verdict }, result, preflight, actual) {
  card.dataset.verdict = result.verdict;
  verdict.className = `verdict ${result.verdict}`;
  verdict.textContent = result.verdict === "allowed" ? "allowed" : "blocked by the browser";

  const grid = el("div", { class: "grid" });
  grid.append(section("What the script sent", sentBlock(result.sent)));
  grid.append(section("The preflight the server saw",
    preflight
      ? el("div", {}, requestLines(preflight), el("h4", {}, "and answered"), responseTable(preflight, null))
      : el("p", { class: "none" }, "None: a simple request goes straight to the server.")));
  grid.append(section("The request the server saw, and the headers that came back",
    actual
      ? el("div", {}, requestLines(actual), el("h4", {}, "and answered"),
           responseTable(actual, result.verdict === "allowed" ? result.readable : {}))
      : el("p", { class: "none" }, "Never sent: the browser stopped at the preflight.")));
  grid.append(section("What the browser did",
    result.verdict === "allowed"
      ? el("div", {}, el("p", {}, `Allowed: the script got status ${result.status}.`),
           el("pre", {}, result.body === "" ? "(empty body)" : result.body))
      : el("div", {}, el("p", {}, `Blocked: ${result.error}.`),
           el("p", {}, reason(preflight, actual)))));
  card.append(grid);
}

// ---------------------------------------------------------------------------
async function runCall(number, call) {
  counter += 1;
  const id = `${ROLE}-${RUN}-${counter}`;
  const url = `${API}${call.path}?call=${id}`;
  const card = newCard(number, call, id);
  const result = call.how === "xhr" ? await viaXhr(call, url) : await viaFetch(call, url);
  const exchanges = await exchangesOf(id);
  const preflight = exchanges.find((exchange) => exchange.preflight) || null;
  const actual = exchanges.find((exchange) => !exchange.preflight) || null;
  fillCard(card, result, preflight, actual);
  window.demoResults.push({
    name: call.name, id, api: result.sent.api, method: call.method, path: call.path,
    verdict: result.verdict, status: result.status === undefined ? null : result.status,
    body: result.body === undefined ? null : result.body,
    error: result.error === undefined ? null : result.error,
    readable: result.readable || {}, preflight: preflight !== null, exchanges,
  });
}

async function runAll() {
  const button = document.getElementById("again");
  button.disabled = true;
  delete document.body.dataset.done;
  window.demoResults = [];
  document.getElementById("calls").replaceChildren();
  let number = 0;
  for (const call of CALLS) {
    number += 1;
    await runCall(number, call);
  }
  document.body.dataset.done = "true";
  button.disabled = false;
}

document.getElementById("again").addEventListener("click", runAll);
runAll();
