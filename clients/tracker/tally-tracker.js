/*!
 * Tally browser tracker: queues a page's raw events and sends them in batches to POST /v1/collect
 * (API.md, "Raw event collection"). No dependencies. Every event gets its event_id (a UUID) when it is
 * tracked, so a batch that is retried carries the same ids and Tally counts each event once.
 *
 *   <script src="tally-tracker.js"></script>
 *   <script>
 *     var tally = TallyTracker.init({ endpoint: "https://tally.example.com", key: "<collect key>" });
 *     tally.page();                                  // a page_view with the URL
 *     tally.track("click", { target: "#buy" });      // any event type and data
 *   </script>
 *
 * Batches go out every flushSeconds, as soon as batchSize events wait, and when the page is hidden
 * (fetch with keepalive, else sendBeacon). A batch that fails (network error, 429, 5xx) goes back to the
 * front of the queue and is tried again with backoff; unsent events survive a reload in localStorage.
 */
(function (global) {
  "use strict";

  var DEFAULTS = {
    endpoint: "",          // the API's base URL
    key: "",               // a key of role "collect" (safe in a page: it can do nothing else)
    siteId: null,          // for agency tenants collecting for many sites
    flushSeconds: 5,       // send what waits at least this often
    batchSize: 20,         // send as soon as this many events wait
    maxQueue: 1000,        // events kept while the API cannot be reached; the oldest go first beyond this
    retryBaseMs: 1000,     // first retry after this, doubling up to retryMaxMs
    retryMaxMs: 60000,
    sessionMinutes: 30,    // a new session after this long without an event
    storage: true,         // keep unsent events, the visitor id and the session in localStorage
    onError: null,         // function (error) for refused events and batches
    now: null,             // function () -> ms since the epoch for event timestamps (default Date.now): a page that
                           // knows its clock is off can correct it
  };

  var KEEPALIVE_BYTES = 60000; // browsers refuse keepalive bodies past 64 KiB in flight

  function uuid() {
    if (global.crypto && typeof global.crypto.randomUUID === "function") return global.crypto.randomUUID();
    var b = new Uint8Array(16);
    global.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function store(enabled) {
    var s = null;
    try { if (enabled && global.localStorage) { s = global.localStorage; s.setItem("tally:probe", "1"); s.removeItem("tally:probe"); } }
    catch (e) { s = null; } // private mode, storage disabled
    return {
      get: function (k) { try { return s ? s.getItem(k) : null; } catch (e) { return null; } },
      set: function (k, v) { try { if (s) s.setItem(k, v); } catch (e) { /* full: keep going in memory */ } },
    };
  }

  function Tracker(options) {
    var o = {};
    for (var k in DEFAULTS) o[k] = options && options[k] !== undefined ? options[k] : DEFAULTS[k];
    if (!o.endpoint || !o.key) throw new Error("TallyTracker.init needs endpoint and key");
    this.options = o;
    this.now = typeof o.now === "function" ? o.now : function () { return Date.now(); };
    this.url = o.endpoint.replace(/\/+$/, "") + "/v1/collect?key=" + encodeURIComponent(o.key);
    this.storage = store(o.storage);
    this.queueKey = "tally:queue:" + (o.siteId || "default");
    this.queue = this.load();
    this.inFlight = null;    // the batch being sent (its events are out of the queue until it settles)
    this.failures = 0;
    this.retryAt = 0;
    this.visitorId = this.storage.get("tally:visitor") || uuid();
    this.storage.set("tally:visitor", this.visitorId);
    this.sent = 0;           // batches acknowledged (for tests and debugging)
    var self = this;
    this.timer = global.setInterval(function () { self.flush(); }, Math.max(0.2, o.flushSeconds) * 1000);
    var hide = function () { self.flushOnHide(); };
    global.addEventListener("pagehide", hide);
    global.document && global.document.addEventListener("visibilitychange", function () {
      if (global.document.visibilityState === "hidden") hide();
    });
  }

  Tracker.prototype.load = function () {
    try { var q = JSON.parse(this.storage.get(this.queueKey) || "[]"); return Array.isArray(q) ? q : []; }
    catch (e) { return []; }
  };

  Tracker.prototype.save = function () {
    var pending = this.inFlight ? this.inFlight.concat(this.queue) : this.queue;
    this.storage.set(this.queueKey, JSON.stringify(pending));
  };

  /** The session id: kept while events come at least every sessionMinutes. */
  Tracker.prototype.session = function () {
    var now = this.now(), raw = this.storage.get("tally:session"), s = null;
    try { s = raw ? JSON.parse(raw) : null; } catch (e) { s = null; }
    if (!s || !s.id || now - s.last > this.options.sessionMinutes * 60000) s = { id: uuid(), last: now };
    s.last = now;
    this.storage.set("tally:session", JSON.stringify(s));
    this.sessionId = s.id;
    return s.id;
  };

  /** Queues one event; returns its event_id. */
  Tracker.prototype.track = function (eventType, data) {
    var e = {
      event_id: uuid(),
      event_type: eventType,
      timestamp: new Date(this.now()).toISOString(),
      session_id: this.session(),
      visitor_id: this.visitorId,
      url: global.location ? String(global.location.href) : undefined,
    };
    if (this.options.siteId) e.site_id = this.options.siteId;
    if (data !== undefined) e.data = data;
    this.queue.push(e);
    if (this.queue.length > this.options.maxQueue) this.queue.splice(0, this.queue.length - this.options.maxQueue);
    this.save();
    if (this.queue.length >= this.options.batchSize) this.flush();
    return e.event_id;
  };

  /** A page_view of the current URL (plus the referrer and title). */
  Tracker.prototype.page = function (data) {
    var d = data || {};
    if (global.document) { d.referrer = d.referrer || global.document.referrer || undefined; d.title = d.title || global.document.title; }
    return this.track("page_view", d);
  };

  Tracker.prototype.body = function (events) {
    return JSON.stringify({ eventType: "batch", events: events });
  };

  /** Sends the next batch unless one is in flight or a retry is not due. Resolves when it settles. */
  Tracker.prototype.flush = function () {
    var self = this;
    if (this.inFlight || this.queue.length === 0 || Date.now() < this.retryAt) return Promise.resolve(false);
    var batch = this.queue.splice(0, this.options.batchSize);
    this.inFlight = batch;
    // text/plain keeps this a simple request (no preflight); the key rides in the URL, as for sendBeacon.
    return global.fetch(this.url, { method: "POST", body: this.body(batch), headers: { "Content-Type": "text/plain" }, credentials: "omit", mode: "cors" })
      .then(function (response) {
        if (response.status === 429 || response.status >= 500) throw new Error("HTTP " + response.status);
        return response.text().then(function (text) { self.settled(batch, response.status, text); return true; });
      })
      .catch(function (error) { self.retry(batch, error); return false; });
  };

  Tracker.prototype.settled = function (batch, status, text) {
    this.inFlight = null;
    this.failures = 0;
    this.retryAt = 0;
    this.save();
    if (status === 200) {
      this.sent++;
      var results = [];
      try { results = JSON.parse(text).results || []; } catch (e) { results = []; }
      var again = [];
      for (var i = 0; i < results.length; i++) {
        if (!results[i]) continue;
        if (results[i].status === "rejected") this.report({ event_id: results[i].event_id, error: results[i].error });
        // "retry": that event's outcome is unknown (part of the cluster did not answer): it goes again, same id.
        else if (results[i].status === "retry" && batch[i]) again.push(batch[i]);
      }
      if (again.length) {
        this.queue = again.concat(this.queue);
        this.failures++;
        this.retryAt = Date.now() + Math.min(this.options.retryMaxMs, this.options.retryBaseMs * Math.pow(2, this.failures - 1));
        this.save();
        this.report({ retry: true, error: "events answered retry", events: again.length });
        return;
      }
    } else {
      // 400 (a malformed batch), 401/403 (key or origin): sending the same again cannot succeed.
      this.report({ status: status, body: text, events: batch.length });
    }
    if (this.queue.length >= this.options.batchSize) this.flush();
  };

  Tracker.prototype.retry = function (batch, error) {
    this.inFlight = null;
    this.queue = batch.concat(this.queue); // the same events, the same ids, in front
    this.failures++;
    this.retryAt = Date.now() + Math.min(this.options.retryMaxMs, this.options.retryBaseMs * Math.pow(2, this.failures - 1));
    this.save();
    this.report({ retry: true, error: String(error && error.message || error), attempt: this.failures });
  };

  Tracker.prototype.report = function (what) {
    if (typeof this.options.onError === "function") { try { this.options.onError(what); } catch (e) { /* the page's handler */ } }
  };

  /** The page is going away: what is queued goes now, with fetch keepalive, else sendBeacon. Browsers allow about
   * 64 KiB of such requests in flight in all, so one request of up to KEEPALIVE_BYTES goes; anything beyond stays in
   * storage and is sent, with the same ids, when a page of the site loads again. */
  Tracker.prototype.flushOnHide = function () {
    var events = (this.inFlight || []).concat(this.queue); // a batch in flight may be cut off by the unload
    if (events.length === 0) return;
    var encoder = typeof TextEncoder !== "undefined" ? new TextEncoder() : null;
    var bytes = function (text) { return encoder ? encoder.encode(text).length : text.length * 3; };
    var chunk = [];
    for (var i = 0; i < events.length; i++) {
      chunk.push(events[i]);
      if (bytes(this.body(chunk)) > KEEPALIVE_BYTES) { chunk.pop(); break; }
    }
    if (chunk.length === 0) return; // one event larger than the budget: it goes from storage on the next page
    var body = this.body(chunk);
    var sent = false;
    try {
      global.fetch(this.url, { method: "POST", body: body, headers: { "Content-Type": "text/plain" }, keepalive: true, credentials: "omit", mode: "cors" })
        .catch(function () { /* kept in storage: sent again on the next page */ });
      sent = true;
    } catch (e) { sent = false; }
    if (!sent && global.navigator && navigator.sendBeacon) navigator.sendBeacon(this.url, new Blob([body], { type: "text/plain" }));
    // They stay queued and stored until a batch is acknowledged: if the page comes back (bfcache) or another loads,
    // they go again with the same ids and Tally counts them once.
  };

  global.TallyTracker = {
    init: function (options) { return new Tracker(options); },
    uuid: uuid,
  };
})(typeof window !== "undefined" ? window : this);
