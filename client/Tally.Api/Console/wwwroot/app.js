// Tally console: a page of the API (decision 037). It signs in with a key kept in this tab's sessionStorage (never a
// cookie) and calls the public HTTP API (docs/api.md) with it; nothing here has rights of its own.
"use strict";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const signOut = document.getElementById("sign-out");
const SESSION = "tally.console";
let session = JSON.parse(sessionStorage.getItem(SESSION) || "null");
let tail = null; // the change feed's live tail, stopped when the page changes

// ---- small helpers ----

/** h("tag", {attr: value, onclick: fn}, ...children): elements built from text, never from HTML strings. */
function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "rect", "text", "line", "g", "title"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value" && !svg) el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const fmt = (n) => (n === null || n === undefined ? "–" : typeof n === "number" ? n.toLocaleString("en-US", { maximumFractionDigits: 4 }) : String(n));
const when = (t) => (t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–");

async function api(path, { method = "GET", body, key } = {}) {
  const headers = { Authorization: `Bearer ${key ?? session.key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: response.status, body: json, ok: response.ok };
}

function errorText(r) {
  const e = r.body && r.body.error;
  return e ? `${r.status} ${e.code}: ${e.message}${e.field ? ` (field ${e.field})` : ""}` : `HTTP ${r.status}`;
}

function page(title, ...content) {
  main.replaceChildren(h("h1", {}, title), ...content);
}

function card(title, ...content) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...content);
}

function table(headers, rows, rowAttrs = () => ({})) {
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { class: x.startsWith("#") ? "num" : null }, x.replace(/^#/, ""))))),
    h("tbody", {}, rows.map((r, i) => h("tr", rowAttrs(r, i), r.cells.map((c, j) => h("td", { class: headers[j]?.startsWith("#") ? "num" : null }, c))))));
}

const needsTenantKey = () => card(null, h("p", { class: "muted" }, "This page reads a tenant's data: sign in with a read or admin key of the tenant."));
const needsAdmin = () => card(null, h("p", { class: "muted" }, "This page needs the tenant's admin key or the cluster admin key."));

/** The tenant's config when this key may read it (admin keys); null for read keys. */
async function config() {
  if (session.config !== undefined) return session.config;
  const r = await api(`/v1/tenants/${encodeURIComponent(session.tenant)}`);
  session.config = r.ok ? r.body.config : null;
  return session.config;
}

// ---- sign in ----

function signInPage(message) {
  nav.hidden = true; signOut.hidden = true; who.textContent = "";
  const key = h("input", { id: "key", type: "password", size: 48, placeholder: "tly_read_… / tly_admin_… / cluster admin key", autocomplete: "off" });
  const form = h("form", { class: "row", id: "sign-in", onsubmit: async (ev) => {
    ev.preventDefault();
    const r = await api("/v1/usage", { key: key.value.trim() });
    if (r.status === 401 || r.status === 403) return signInPage("That key is not accepted here (401/403). Use a read or admin key, or the cluster admin key.");
    if (!r.ok) return signInPage(errorText(r));
    const s = { key: key.value.trim() };
    if (Array.isArray(r.body.tenants)) {
      Object.assign(s, { cluster: true, role: "cluster admin", tenants: r.body.tenants.map((t) => t.tenant), tenant: r.body.tenants[0]?.tenant ?? null });
    } else {
      const probe = await api(`/v1/tenants/${encodeURIComponent(r.body.tenant)}`, { key: s.key });
      Object.assign(s, { cluster: false, tenant: r.body.tenant, role: probe.ok ? "admin" : "read" });
    }
    session = s;
    sessionStorage.setItem(SESSION, JSON.stringify({ ...s, config: undefined }));
    location.hash = "#/overview";
    route();
  } }, h("label", {}, "API key", key), h("button", { type: "submit" }, "Sign in"));
  page("Sign in", card(null,
    h("p", {}, "The key stays in this browser tab (sessionStorage) and goes only to this API, in the Authorization header."),
    form, message ? h("p", { class: "error", id: "sign-in-error" }, message) : null));
  key.focus();
}

signOut.addEventListener("click", () => { sessionStorage.removeItem(SESSION); session = null; location.hash = ""; route(); });

// ---- overview ----

function dayChart(days) {
  const width = 720, height = 160, pad = 24;
  const max = Math.max(1, ...days.map((d) => d.events_accepted));
  const bar = (width - pad) / Math.max(days.length, 1);
  return h("svg", { width, height: height + 20, viewBox: `0 0 ${width} ${height + 20}`, role: "img", "aria-label": "events accepted per day" },
    h("line", { x1: pad, y1: height, x2: width, y2: height, stroke: "#d0d5dd" }),
    h("text", { x: 0, y: 12 }, fmt(max)),
    days.map((d, i) => {
      const hgt = Math.round((d.events_accepted / max) * (height - 16));
      return h("g", {},
        h("rect", { x: pad + i * bar + 1, y: height - hgt, width: Math.max(bar - 2, 1), height: hgt, fill: "#2f6fed" }, h("title", {}, `${d.day}: ${fmt(d.events_accepted)} accepted, ${fmt(d.events_rejected)} rejected`)),
        i % Math.ceil(days.length / 10) === 0 ? h("text", { x: pad + i * bar, y: height + 14 }, d.day.slice(5)) : null);
    }));
}

async function overviewPage() {
  // Without a month the API answers the tenant's current one (its time zone, its clock).
  const asked = new URLSearchParams(location.hash.split("?")[1] || "").get("month");
  const monthQuery = asked ? `?month=${asked}` : "";
  const monthInput = h("input", { type: "month", value: asked || "", onchange: () => { location.hash = `#/overview?month=${monthInput.value}`; } });
  if (session.cluster) {
    const r = await api(`/v1/usage${monthQuery}`);
    const m = r.body?.month ?? asked ?? "";
    monthInput.value = m;
    if (!r.ok) return page("Overview", card(null, h("p", { class: "error" }, errorText(r))));
    return page(`Overview — every tenant, ${m}`, h("form", { class: "row" }, h("label", {}, "month", monthInput)),
      card("Tenants", table(["tenant", "#accepted", "#duplicates", "#rejected", "#active users"],
        r.body.tenants.map((t) => ({ cells: [h("a", { href: "#/config", onclick: () => pickTenant(t.tenant) }, t.tenant), fmt(t.events_accepted), fmt(t.events_duplicate), fmt(t.events_rejected), fmt(t.active_users)] })))));
  }
  const [usage, exports, cfg] = await Promise.all([api(`/v1/usage${monthQuery}`), api("/v1/exports?limit=5"), config()]);
  if (!usage.ok) return page("Overview", card(null, h("p", { class: "error" }, errorText(usage))));
  const u = usage.body;
  const m = u.month;
  monthInput.value = m;
  const codes = Object.entries(u.rejected_by_code || {});
  const cards = [
    h("form", { class: "row" }, h("label", {}, "month", monthInput)),
    h("div", { class: "grid2" },
      card("This month", table(["", "#"], [
        { cells: ["events accepted", fmt(u.events_accepted)] }, { cells: ["duplicates", fmt(u.events_duplicate)] },
        { cells: ["rejected", fmt(u.events_rejected)] }, { cells: ["active users", fmt(u.active_users)] },
      ])),
      card("Rejected by code", codes.length ? table(["code", "#events"], codes.map(([c, n]) => ({ cells: [c, fmt(n)] }))) : h("p", { class: "muted" }, "Nothing rejected."))),
    card("Events accepted per day", u.days?.length ? dayChart(u.days) : h("p", { class: "muted" }, "No events this month.")),
  ];
  if (exports.ok && (cfg?.export || exports.body.batches.length)) {
    const oldest = exports.body.oldest_pending_received_at;
    cards.push(card("Export", h("p", {}, `${fmt(exports.body.pending_events)} events waiting`,
      oldest ? `, the oldest received ${when(oldest)} (lag ${Math.round((Date.now() - Date.parse(oldest)) / 60000)} min)` : "",
      exports.body.batches[0] ? `; last batch ${exports.body.batches[0].id}: ${fmt(exports.body.batches[0].rows)} rows, exported ${when(exports.body.batches[0].exported_at)}` : "")));
  }
  if (session.role === "admin") {
    const hooks = await api(`/v1/tenants/${encodeURIComponent(session.tenant)}/webhooks`);
    if (hooks.ok && hooks.body.webhooks.length) {
      const rows = [];
      for (const w of hooks.body.webhooks) {
        const d = await api(`/v1/tenants/${encodeURIComponent(session.tenant)}/webhooks/${w.webhook_id}/deliveries?limit=20`);
        const last = d.ok ? d.body.deliveries[0] : null;
        const failing = d.ok ? d.body.deliveries.filter((x) => !(x.status >= 200 && x.status < 300)).length : 0;
        rows.push({ cells: [w.url, w.state, last ? `${when(last.at)} (${last.status ?? last.error})` : "none yet", fmt(failing)] });
      }
      cards.push(card("Webhooks", table(["url", "state", "last attempt", "#failed of last 20"], rows)));
    }
  }
  page(`Overview — ${session.tenant}, ${m}`, ...cards);
}

function pickTenant(tenant) {
  session.tenant = tenant; session.config = undefined;
  sessionStorage.setItem(SESSION, JSON.stringify({ ...session, config: undefined }));
  renderWho();
}

// ---- leaderboards ----

async function boardsPage() {
  if (session.cluster) return page("Leaderboards", needsTenantKey());
  const cfg = await config();
  const q = new URLSearchParams(location.hash.split("?")[1] || "");
  const boards = cfg?.leaderboards;
  const choice = (name, options, value) => options
    ? h("select", { id: `board-${name}`, name }, options.map((o) => h("option", { value: o, selected: o === value }, o)))
    : h("input", { id: `board-${name}`, name, value: value || "" });
  const measure = q.get("measure") || boards?.measures?.[0] || "";
  const scope = q.get("scope") || "global";
  const period = q.get("period") || boards?.periods?.[0] || "all_time";
  const offset = Number(q.get("offset") || 0);
  const form = h("form", { class: "row", id: "board-form", onsubmit: (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const p = new URLSearchParams({ measure: f.get("measure"), scope: f.get("scope"), period: f.get("period"), offset: "0" });
    if (f.get("key")) p.set("key", f.get("key"));
    if (f.get("find")) p.set("find", f.get("find"));
    location.hash = `#/boards?${p}`;
  } },
    h("label", {}, "measure", choice("measure", boards?.measures, measure)),
    h("label", {}, "scope (global or dimension:value)", h("input", { id: "board-scope", name: "scope", value: scope })),
    h("label", {}, "period", choice("period", boards?.periods, period)),
    h("label", {}, "key (default: current)", h("input", { id: "board-key", name: "key", value: q.get("key") || "", size: 10 })),
    h("label", {}, "find a user", h("input", { id: "board-find", name: "find", value: q.get("find") || "", size: 14 })),
    h("button", { type: "submit" }, "Show"));
  if (!measure) return page("Leaderboards", card(null, form));
  const params = new URLSearchParams({ scope, period, offset: String(offset), limit: "20" });
  if (q.get("key")) params.set("key", q.get("key"));
  const r = await api(`/v1/leaderboards/${encodeURIComponent(measure)}?${params}`);
  const content = [card(null, form)];
  if (!r.ok) content.push(card(null, h("p", { class: "error", id: "board-error" }, errorText(r))));
  else {
    const b = r.body;
    const go = (o) => { q.set("offset", String(Math.max(0, o))); location.hash = `#/boards?${q}`; };
    q.set("measure", measure); q.set("scope", scope); q.set("period", period);
    content.push(card(`${b.measure} · ${b.scope} · ${b.period} ${b.key} — ${fmt(b.members)} members`,
      table(["#rank", "user", "#score"], b.entries.map((e) => ({ cells: [fmt(e.rank), h("a", { href: `#/user/${encodeURIComponent(e.user_id)}` }, e.user_id), fmt(e.score)] }))),
      h("p", {}, h("button", { class: "secondary", disabled: offset === 0, onclick: () => go(offset - 20) }, "← previous"), " ",
        h("button", { class: "secondary", disabled: offset + 20 >= b.members, onclick: () => go(offset + 20) }, "next →"),
        h("span", { class: "muted" }, ` ${offset + 1}–${Math.min(offset + 20, b.members)} of ${fmt(b.members)}`))));
  }
  const find = q.get("find");
  if (find) {
    const a = await api(`/v1/leaderboards/${encodeURIComponent(measure)}/users/${encodeURIComponent(find)}?${new URLSearchParams({ scope, period, around: "5", ...(q.get("key") ? { key: q.get("key") } : {}) })}`);
    content.push(a.ok
      ? card(`Around ${find}: rank ${fmt(a.body.rank)} of ${fmt(a.body.members)}`, h("div", { id: "around" },
          table(["#rank", "user", "#score"], a.body.entries.map((e) => ({ user: e.user_id, cells: [fmt(e.rank), h("a", { href: `#/user/${encodeURIComponent(e.user_id)}` }, e.user_id), fmt(e.score)] })),
            (row) => ({ class: row.user === find ? "me" : null }))))
      : card(null, h("p", { class: "error", id: "around-error" }, a.status === 404 ? `${find} is not on this board.` : errorText(a))));
  }
  page("Leaderboards", ...content);
}

// ---- a user ----

const TIER_COLORS = { bronze: "#b87333", silver: "#9ea3ab", gold: "#d4a017", platinum: "#5b7db1", diamond: "#3aa6b9" };
const PALETTE = ["#2f6fed", "#067647", "#b54708", "#6941c6", "#c11574"];

/** The tier history as a picture: one bar per tier held, from each change to the next (or now), labelled with what
 * happened at each change (changes at the same instant share a label). */
function tierTimeline(entries, now = Date.now()) {
  const width = 720, top = 30, barHeight = 26;
  if (!entries.length) return h("p", { class: "muted" }, "No tier history.");
  const start = Date.parse(entries[0].at), end = Math.max(now, Date.parse(entries[entries.length - 1].at) + 1);
  const x = (t) => 10 + ((t - start) / (end - start)) * (width - 20);
  const others = [...new Set(entries.map((e) => e.to))].filter((t) => !TIER_COLORS[t]);
  const color = (t) => TIER_COLORS[t] ?? PALETTE[others.indexOf(t) % PALETTE.length];
  const marks = [];
  for (const e of entries) {
    const last = marks[marks.length - 1];
    if (last && last.at === e.at) last.label += `, ${e.reason} ${e.to}`;
    else marks.push({ at: e.at, label: `${e.reason} ${e.to}` });
  }
  return h("svg", { id: "tier-timeline", width, height: 100, viewBox: `0 0 ${width} 100`, role: "img", "aria-label": "tier timeline" },
    entries.map((e, i) => {
      const from = x(Date.parse(e.at)), to = x(i + 1 < entries.length ? Date.parse(entries[i + 1].at) : end);
      return h("rect", { x: from, y: top, width: Math.max(to - from, 0), height: barHeight, fill: color(e.to) }, h("title", {}, `${e.to} from ${when(e.at)} (${e.reason})`));
    }),
    marks.map((m, i) => {
      const at = x(Date.parse(m.at));
      return h("g", {},
        h("line", { x1: at, y1: top - 6, x2: at, y2: top + barHeight + 6, stroke: "#1d2330" }),
        h("text", { x: at + 3, y: i % 2 ? top - 16 : top - 6 }, m.label),
        h("text", { x: at + 3, y: top + barHeight + 18 }, m.at.slice(0, 10)));
    }),
    h("text", { x: width - 40, y: top + barHeight + 18 }, "now"));
}

async function userPage(userId) {
  if (session.cluster) return page("Users", needsTenantKey());
  const input = h("input", { id: "user-id", value: userId || "", placeholder: "user id" });
  const form = h("form", { class: "row", onsubmit: (ev) => { ev.preventDefault(); location.hash = `#/user/${encodeURIComponent(input.value.trim())}`; } },
    h("label", {}, "user", input), h("button", { type: "submit" }, "Open"));
  if (!userId) return page("Users", card(null, form));
  const u = encodeURIComponent(userId);
  const [stats, tiers, goals] = await Promise.all([api(`/v1/users/${u}/stats`), api(`/v1/users/${u}/tiers`), api(`/v1/users/${u}/goals?limit=100`)]);
  if (!stats.ok) return page(`User ${userId}`, card(null, form), card(null, h("p", { class: "error", id: "user-error" }, stats.status === 404 ? "No events for this user." : errorText(stats))));
  const s = stats.body;
  const periods = ["all_time", "year", "month", "week", "day"];
  const content = [card(null, form),
    card("Totals", h("p", {}, `${fmt(s.actions)} actions, last on ${s.last_action_date ?? "–"}; streak ${fmt(s.streak.current)} days (longest ${fmt(s.streak.longest)})`),
      table(["measure", ...periods.map((p) => "#" + p)], Object.entries(s.measures).map(([m, v]) => ({ cells: [m, ...periods.map((p) => fmt(v[p]))] })))),
  ];
  const rankRows = [];
  for (const [m, scopes] of Object.entries(s.ranks || {}))
    for (const [scope, byPeriod] of Object.entries(scopes)) rankRows.push({ cells: [m, scope, ...periods.slice(0, 4).map((p) => fmt(byPeriod[p]))] });
  if (rankRows.length) content.push(card("Ranks", table(["measure", "scope", ...periods.slice(0, 4).map((p) => "#" + p)], rankRows)));
  if (s.ratios) content.push(card("Ratios", table(["ratio", ...periods.map((p) => "#" + p)], Object.entries(s.ratios).map(([r, v]) => ({ cells: [r, ...periods.map((p) => fmt(v[p]))] })))));
  if (s.goals && Object.keys(s.goals).length)
    content.push(card("Goals", table(["goal", "window", "#level", "progress", "#next target"], Object.entries(s.goals).map(([g, v]) => ({
      cells: [g, v.window_key ?? "–", fmt(v.level),
        h("span", {}, v.next_target ? h("progress", { value: Math.max(0, v.progress ?? 0), max: v.next_target }) : h("span", { class: "ok" }, "all levels done "), " ", fmt(v.progress)),
        fmt(v.next_target)],
    })))));
  if (goals.ok && goals.body.entries.length)
    content.push(card("Completed goals", table(["goal", "#level", "#target", "window", "completed at", "#value"],
      goals.body.entries.map((e) => ({ cells: [e.goal, fmt(e.level), fmt(e.target), e.window_key, when(e.completed_at), fmt(e.value)] })))));
  if (s.checkpoint) content.push(card("Checkpoint", h("p", {}, `Tier ${s.checkpoint.tier} since ${when(s.checkpoint.tier_achieved_at)}; next checkpoint ${when(s.checkpoint.next_checkpoint_at)}; window `,
    Object.entries(s.checkpoint.window || {}).map(([k, v]) => `${k} ${fmt(v)}`).join(", "))));
  if (tiers.ok && tiers.body.entries.length)
    content.push(card("Tier timeline", tierTimeline(tiers.body.entries),
      table(["at", "reason", "from", "to", "window"], tiers.body.entries.map((e) => ({
        cells: [when(e.at), e.reason, e.from ?? "–", e.to, `${e.window_start.slice(0, 10)} – ${e.window_end.slice(0, 10)}: ` + Object.entries(e.window || {}).map(([k, v]) => `${k} ${fmt(v)}`).join(", ")],
      })))));
  const cfg = await config();
  for (const dim of cfg?.breakdowns ?? []) {
    const b = await api(`/v1/users/${u}/breakdown/${encodeURIComponent(dim)}?period=all_time&limit=20`);
    if (b.ok && b.body.values.length)
      content.push(card(`Breakdown by ${dim}`, table([dim, "#actions", ...Object.keys(b.body.values[0].measures).map((m) => "#" + m)],
        b.body.values.map((v) => ({ cells: [v.value, fmt(v.actions), ...Object.values(v.measures).map(fmt)] })))));
  }
  page(`User ${userId}`, ...content);
}

// ---- config ----

/** Scalar leaves of a JSON value with their API field paths (measures.sales.min, dimensions[0]). */
function leaves(value, path = "", out = []) {
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== "object")) out.push({ path, value, kind: "list" });
  else if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${path}[${i}]`, out));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  else out.push({ path, value, kind: typeof value });
  return out;
}

function setPath(target, path, value) {
  const parts = path.match(/[^.[\]]+/g);
  let node = target;
  for (let i = 0; i < parts.length - 1; i++) node = node[parts[i]];
  node[parts[parts.length - 1]] = value;
}

async function configPage() {
  if (!session.cluster && session.role !== "admin") return page("Config", needsAdmin());
  if (!session.tenant) return page("Config", card(null, h("p", { class: "muted" }, "No tenant yet.")));
  const r = await api(`/v1/tenants/${encodeURIComponent(session.tenant)}`);
  if (!r.ok) return page("Config", card(null, h("p", { class: "error" }, errorText(r))));
  const stored = r.body.config;
  const fields = leaves(stored);
  const status = h("p", { id: "config-status" });
  const rows = fields.map((f) => {
    const input = h("input", { "data-path": f.path, value: f.kind === "list" ? f.value.join(", ") : f.value === null ? "" : String(f.value), size: 40 });
    return h("div", { class: "field", "data-field": f.path }, h("code", {}, f.path), input);
  });
  const json = h("textarea", { id: "config-json", hidden: true, spellcheck: "false" });
  json.value = JSON.stringify(stored, null, 2);
  let raw = false;
  const toggle = h("button", { type: "button", class: "secondary", onclick: () => {
    raw = !raw; json.hidden = !raw; fieldsBox.hidden = raw; toggle.textContent = raw ? "Edit fields" : "Edit JSON";
  } }, "Edit JSON");
  const fieldsBox = h("div", { id: "config-fields" }, rows);
  const clearErrors = () => { for (const el of main.querySelectorAll(".field.invalid")) el.classList.remove("invalid"); for (const el of main.querySelectorAll(".field .error")) el.remove(); };
  const save = h("button", { type: "submit", id: "config-save" }, "Save");
  const form = h("form", { id: "config-form", onsubmit: async (ev) => {
    ev.preventDefault();
    clearErrors(); status.textContent = ""; status.className = "";
    let body;
    if (raw) body = json.value;
    else {
      const next = structuredClone(stored);
      for (const f of fields) {
        const text = main.querySelector(`input[data-path="${CSS.escape(f.path)}"]`).value.trim();
        const numbers = f.kind === "list" && f.value.length > 0 && f.value.every((v) => typeof v === "number");
        const value = f.kind === "list" ? (text ? text.split(",").map((x) => x.trim()).map((x) => (numbers && x !== "" && !isNaN(Number(x)) ? Number(x) : x)) : [])
          : f.kind === "number" ? (text === "" || isNaN(Number(text)) ? text : Number(text))
          : f.kind === "boolean" ? text === "true" : f.kind === "object" && text === "" ? null : text;
        setPath(next, f.path, value);
      }
      body = next;
    }
    const put = await api(`/v1/tenants/${encodeURIComponent(session.tenant)}`, { method: "PUT", body });
    if (put.ok) {
      session.config = undefined;
      const again = await api(`/v1/tenants/${encodeURIComponent(session.tenant)}`);
      status.className = "ok"; status.textContent = `Saved: version ${again.body?.version}.`;
      return;
    }
    const e = put.body?.error;
    status.className = "error"; status.textContent = errorText(put);
    // The error at its field: the input of that path, or of the nearest enclosing one.
    if (e?.field && !raw) {
      const target = rows.find((row) => row.dataset.field === e.field)
        || rows.filter((row) => e.field.startsWith(row.dataset.field + ".") || row.dataset.field.startsWith(e.field + ".") || row.dataset.field.startsWith(e.field + "["))[0];
      if (target) { target.classList.add("invalid"); target.append(h("span", { class: "error field-error" }, e.message)); target.querySelector("input").focus(); }
    }
  } }, fieldsBox, json, h("p", {}, save, " ", toggle));
  page(`Config — ${session.tenant} (version ${r.body.version})`, card(null, h("p", { class: "muted" }, "Every field of the stored config; Save validates it as PUT /v1/tenants/{id} does and shows an error at its field."), form, status));
}

// ---- keys ----

async function keysPage() {
  if (!session.cluster && session.role !== "admin") return page("Keys", needsAdmin());
  const t = encodeURIComponent(session.tenant);
  const r = await api(`/v1/tenants/${t}/keys`);
  if (!r.ok) return page("Keys", card(null, h("p", { class: "error" }, errorText(r))));
  const role = h("select", { id: "key-role" }, ["read", "ingest", "admin", "collect"].map((x) => h("option", { value: x }, x)));
  const created = h("div", { id: "key-created" });
  const form = h("form", { class: "row", onsubmit: async (ev) => {
    ev.preventDefault();
    const c = await api(`/v1/tenants/${t}/keys`, { method: "POST", body: { role: role.value } });
    if (!c.ok) { created.replaceChildren(h("p", { class: "error" }, errorText(c))); return; }
    await keysPage();
    main.querySelector("#key-created").replaceChildren(h("p", {}, `New ${c.body.role} key ${c.body.key_id}: copy it now, it is not shown again.`),
      h("p", { class: "secret", id: "new-key-secret" }, c.body.key));
  } }, h("label", {}, "role", role), h("button", { type: "submit", id: "key-create" }, "Create key"));
  page(`Keys — ${session.tenant}`, card(null, form, created),
    card("Keys", table(["key id", "role", "created", "revoked", ""], r.body.keys.map((k) => ({
      cells: [k.key_id, k.role, when(k.created_at), k.revoked_at ? when(k.revoked_at) : "–",
        k.revoked_at ? "" : h("button", { class: "danger", "data-key": k.key_id, onclick: async () => {
          const d = await api(`/v1/tenants/${t}/keys/${encodeURIComponent(k.key_id)}`, { method: "DELETE" });
          if (!d.ok) alert(errorText(d));
          await keysPage();
        } }, "Revoke")],
    })), (row, i) => ({ "data-key-row": r.body.keys[i].key_id }))));
}

// ---- webhooks and the change feed ----

async function webhooksPage() {
  const content = [];
  const t = encodeURIComponent(session.tenant || "");
  if (session.cluster || session.role === "admin") {
    const r = await api(`/v1/tenants/${t}/webhooks`);
    if (!r.ok) content.push(card(null, h("p", { class: "error" }, errorText(r))));
    else {
      const url = h("input", { id: "webhook-url", size: 40, placeholder: "https://example.com/tally" });
      const kinds = h("input", { id: "webhook-kinds", value: "tier_changed, goal_completed", size: 30 });
      const out = h("div");
      content.push(card("Webhooks",
        table(["url", "kinds", "state", "created", ""], r.body.webhooks.map((w) => ({
          cells: [w.url, w.kinds.join(", "), w.state, when(w.created_at), h("span", {},
            w.state === "disabled" ? h("button", { onclick: async () => { await api(`/v1/tenants/${t}/webhooks/${w.webhook_id}/enable`, { method: "POST" }); webhooksPage(); } }, "Enable") : "",
            " ", h("button", { class: "secondary", onclick: async () => {
              const d = await api(`/v1/tenants/${t}/webhooks/${w.webhook_id}/deliveries?limit=50`);
              out.replaceChildren(d.ok ? card(`Deliveries to ${w.url}`, table(["change", "#attempt", "at", "status", "#ms", "error"],
                d.body.deliveries.map((x) => ({ cells: [x.change_id, fmt(x.attempt), when(x.at), x.status ?? "–", fmt(x.duration_ms), x.error ?? ""] })))) : h("p", { class: "error" }, errorText(d)));
            } }, "Deliveries"),
            " ", h("button", { class: "danger", onclick: async () => { await api(`/v1/tenants/${t}/webhooks/${w.webhook_id}`, { method: "DELETE" }); webhooksPage(); } }, "Delete"))],
        }))),
        h("form", { class: "row", onsubmit: async (ev) => {
          ev.preventDefault();
          const c = await api(`/v1/tenants/${t}/webhooks`, { method: "POST", body: { url: url.value.trim(), kinds: kinds.value.split(",").map((k) => k.trim()).filter(Boolean) } });
          out.replaceChildren(c.ok ? h("p", {}, "Signing secret (shown once): ", h("span", { class: "secret" }, c.body.secret)) : h("p", { class: "error" }, errorText(c)));
        } }, h("label", {}, "url", url), h("label", {}, "kinds", kinds), h("button", { type: "submit" }, "Add webhook")),
        out));
    }
  }
  if (session.cluster) content.push(needsTenantKey());
  else {
    const rows = h("tbody");
    const state = h("span", { class: "muted", id: "tail-state" }, "stopped");
    const button = h("button", { id: "tail-toggle", onclick: () => (tail ? stopTail() : startTail(rows, state, button)) }, "Start live tail");
    content.push(card("Change feed", h("p", {}, button, " ", state),
      h("div", { class: "tail" }, h("table", { id: "changes" }, h("thead", {}, h("tr", {}, ["id", "kind", "user", "at", "data"].map((x) => h("th", {}, x)))), rows))));
  }
  page("Webhooks & change feed", ...content);
}

function stopTail() { if (tail) tail.stopped = true; tail = null; }

async function startTail(rows, state, button) {
  const me = { stopped: false };
  tail = me;
  button.textContent = "Stop";
  let after = null;
  const add = (changes) => {
    for (const c of changes) rows.prepend(h("tr", {}, h("td", {}, c.id), h("td", {}, c.kind), h("td", {}, h("a", { href: `#/user/${encodeURIComponent(c.user_id)}` }, c.user_id)), h("td", {}, when(c.at)), h("td", {}, JSON.stringify(c.data))));
    while (rows.children.length > 200) rows.lastChild.remove();
  };
  while (!me.stopped) {
    state.textContent = "listening…";
    let r;
    try {
      r = await api(`/v1/changes?limit=200&wait=${after === null ? 0 : 20}${after ? `&after=${encodeURIComponent(after)}` : ""}`);
    } catch (error) {
      // the API did not answer (a restart, the network): try again shortly
      state.textContent = `not reachable (${error}); retrying`;
      await new Promise((res) => setTimeout(res, 2000));
      continue;
    }
    if (me.stopped) break;
    if (!r.ok) { state.textContent = errorText(r); await new Promise((res) => setTimeout(res, 2000)); if (r.status === 410) after = null; continue; }
    add(r.body.changes);
    after = r.body.next ?? after;
    state.textContent = `live: ${rows.children.length} shown`;
  }
  if (tail === me) tail = null;
  button.textContent = "Start live tail";
  state.textContent = "stopped";
}

// ---- routing ----

function renderWho() {
  who.replaceChildren(`${session.role}`, session.tenant ? ` · tenant ` : "", session.tenant ?? "");
  if (session.cluster && session.tenants?.length) {
    const pick = h("select", { id: "tenant-pick", onchange: () => { pickTenant(pick.value); route(); } },
      session.tenants.map((x) => h("option", { value: x, selected: x === session.tenant }, x)));
    who.replaceChildren("cluster admin · tenant ", pick);
  }
}

async function route() {
  stopTail();
  if (!session) return signInPage();
  nav.hidden = false; signOut.hidden = false;
  renderWho();
  const hash = location.hash || "#/overview";
  const [path] = hash.slice(2).split("?");
  const [name, arg] = path.split("/");
  for (const a of nav.querySelectorAll("a")) a.classList.toggle("active", a.getAttribute("href") === `#/${name}`);
  try {
    switch (name) {
      case "boards": return await boardsPage();
      case "user": return await userPage(arg ? decodeURIComponent(arg) : "");
      case "config": return await configPage();
      case "keys": return await keysPage();
      case "webhooks": return await webhooksPage();
      default: return await overviewPage();
    }
  } catch (error) {
    page("Something went wrong", card(null, h("p", { class: "error" }, String(error))));
  }
}

window.addEventListener("hashchange", route);
route();
