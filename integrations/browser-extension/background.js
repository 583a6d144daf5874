// quotaline bridge: once a minute, and when a claude.ai tab finishes loading, read the same
// JSON the usage settings page reads, inside the user's own claude.ai session, and hand the
// answers, unparsed, to the local `quotaline native-host`. Parsing happens in quotaline, in
// one place; this file only knows which URLs to ask for. No other site, no remote code, no
// analytics: nothing leaves the browser except towards claude.ai and the local program.
"use strict";

const api = globalThis.browser ?? globalThis.chrome;

const BASE = "https://claude.ai";
const NATIVE_HOST = "com.quotaline.bridge";
const ALARM = "quotaline-poll";
// Tab loads come in bursts while the user works on claude.ai: one poll per 20 s is plenty.
const MIN_GAP_MS = 20 * 1000;
const PARTS = ["usage", "overage_spend_limit", "subscription_details"];
const ORG_ID = /^[0-9A-Za-z-]{1,64}$/;

// One request. A browser-level failure (offline, DNS) becomes `error`; every HTTP answer,
// good or bad, is passed on as it came, for quotaline to judge.
async function get(path) {
  try {
    const r = await fetch(BASE + path, {
      credentials: "include",
      cache: "no-store",
      redirect: "manual",
      headers: { Accept: "*/*" },
    });
    if (r.type === "opaqueredirect") {
      return { path, error: "redirected instead of answering (usually a lost login)" };
    }
    const headers = {};
    for (const name of ["cf-mitigated", "retry-after", "location"]) {
      const value = r.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    return { path, status: r.status, body: await r.text(), headers };
  } catch (e) {
    return { path, error: String((e && e.message) || e) };
  }
}

// Answers that hit every request alike (as in quotaline's own join): asking the next
// endpoint would only repeat them, and bursts after a challenge or a 429 look like a bot.
function endsTheTick(a) {
  if (a.error !== undefined) return true;
  if (a.status === 401 || a.status === 429) return true;
  if (a.headers["cf-mitigated"] === "challenge") return true;
  return (a.status === 403 || a.status === 503) && a.body.includes("Just a moment");
}

// The org uuids to ask about: the one thing read from a body here, because the next URLs
// depend on it.
function orgIds(account) {
  try {
    return JSON.parse(account.body)
      .memberships.map((m) => m && m.organization && m.organization.uuid)
      .filter((id) => typeof id === "string" && ORG_ID.test(id));
  } catch (e) {
    return [];
  }
}

// The `lastActiveOrg` cookie names the org the user last used on claude.ai (the active one).
async function lastActiveOrg() {
  try {
    const c = await api.cookies.get({ url: BASE + "/", name: "lastActiveOrg" });
    return c && ORG_ID.test(c.value) ? c.value : null;
  } catch (e) {
    return null;
  }
}

async function readUsage() {
  const fetched_at = new Date().toISOString();
  const account = await get("/api/account");
  const responses = [account];
  if (account.status === 200) {
    // One after another, as the settings page does: never in parallel.
    outer: for (const id of orgIds(account)) {
      for (const part of PARTS) {
        const a = await get(`/api/organizations/${id}/${part}`);
        responses.push(a);
        if (endsTheTick(a)) break outer;
      }
    }
  }
  return { type: "usage", fetched_at, last_active_org: await lastActiveOrg(), responses };
}

const COLOURS = { ok: "#2e7d32", warn: "#b58900", critical: "#c62828" };

async function showBadge(result) {
  let text = "";
  let colour = "#757575";
  let title = "quotaline";
  if (!result.ok) {
    text = "!";
    title = `quotaline: ${result.error}`;
  } else if (typeof result.percent === "number") {
    text = String(Math.round(result.percent));
    colour = COLOURS[result.severity] || colour;
    title = `quotaline: ${result.line || ""}`;
  }
  await api.action.setBadgeText({ text });
  await api.action.setBadgeBackgroundColor({ color: colour });
  await api.action.setTitle({ title });
}

async function pollOnce() {
  const message = await readUsage();
  let result;
  try {
    result = await api.runtime.sendNativeMessage(NATIVE_HOST, message);
    if (!result || typeof result !== "object") {
      result = { ok: false, error: "quotaline native-host sent no reply" };
    }
  } catch (e) {
    result = {
      ok: false,
      error:
        `cannot reach quotaline (${(e && e.message) || e}): ` +
        "run `quotaline init native-host` and restart the browser",
    };
  }
  result.at = new Date().toISOString();
  await api.storage.local.set({ last: result });
  await showBadge(result);
  return result;
}

let running = null;

// At most one poll at a time; a caller arriving meanwhile gets the running one's result.
function poll() {
  if (!running) {
    running = pollOnce().finally(() => {
      running = null;
    });
  }
  return running;
}

async function pollUnlessRecent() {
  const { last } = await api.storage.local.get("last");
  if (last && Date.now() - Date.parse(last.at) < MIN_GAP_MS) return;
  await poll();
}

// The referer claude.ai checks (as CSRF protection) on the settings page's requests, set on
// this extension's own requests only: those that come from no tab.
async function setReferer() {
  await api.declarativeNetRequest.updateSessionRules({
    removeRuleIds: [1],
    addRules: [
      {
        id: 1,
        priority: 1,
        action: {
          type: "modifyHeaders",
          requestHeaders: [
            { header: "referer", operation: "set", value: BASE + "/settings/usage" },
          ],
        },
        condition: {
          urlFilter: `|${BASE}/api/`,
          tabIds: [api.tabs.TAB_ID_NONE],
          resourceTypes: ["xmlhttprequest", "other"],
        },
      },
    ],
  });
}

async function start() {
  try {
    await setReferer();
  } catch (e) {
    console.warn("quotaline: cannot set the referer rule:", e);
  }
  if (!(await api.alarms.get(ALARM))) {
    await api.alarms.create(ALARM, { periodInMinutes: 1 });
  }
}

api.runtime.onInstalled.addListener(() => start().then(poll));
api.runtime.onStartup.addListener(() => start().then(poll));
api.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === ALARM) poll();
});
api.tabs.onUpdated.addListener((tabId, change, tab) => {
  if (change.status === "complete" && tab.url && tab.url.startsWith(BASE + "/")) {
    pollUnlessRecent();
  }
});
// The popup's "Refresh now".
api.runtime.onMessage.addListener((msg, sender, reply) => {
  if (msg === "poll") {
    poll().then(reply);
    return true;
  }
  return false;
});
start();
