// @ts-check
// waops page bridge: injected after WA-JS on every page load (an init script, so before
// WhatsApp Web's own code). It subscribes to the WA-JS events the driver needs at once, not only
// after ready (WPP.on works from injection; chat.new_message and the conn events are registered
// at loader.onInjected in WA-JS), and forwards them, serialised and filtered, through the single
// binding `__waopsEmit` the driver exposes per browser context. Every WA-JS behaviour relied on
// is cited by its file in the WA-JS 4.6.0 source (src/...); `make typecheck-js` checks the
// calls against the package's .d.ts files.
//
// The bridge is four scripts, injected in the order of page_events.BRIDGE_JS_PATHS: this core
// (shared state and helpers), inbound.js (messages in), connection.js (QR, pairing and stream
// events) and commands.js (`window.__waops`, what the driver calls). They share
// `window.__waopsBridge` (`BridgeShared` in bridge.globals.d.ts), which this part creates.
(() => {
  'use strict';
  if (window.__waops || !window.WPP || !window.WPP.loader) return;
  const WPP = window.WPP;
  /** @type {import('../bridge.globals').BridgeConfig} */
  const config = window.__waopsConfig || {
    conversationTypes: ['chat'],
    mediaTypes: [],
    peerLookupMs: 3000,
  };

  const LIMIT = 2000;
  /** A set that forgets its oldest entries beyond LIMIT (ids only ever grow). */
  const boundedSet = () => {
    /** @type {Set<string>} */
    const items = new Set();
    return {
      /** @param {string} value */
      add(value) {
        items.add(value);
        if (items.size > LIMIT) items.delete(/** @type {string} */ (items.values().next().value));
      },
      /** @param {string} value */
      has: (value) => items.has(value),
    };
  };
  const delivered = boundedSet(); // serialised ids already forwarded (redeliveries, ciphertext)
  const ours = boundedSet(); // key ids made by prepareSend: their echoes are not phone messages
  const queued = boundedSet(); // key ids of ours whose message reached MsgStore (echo seen)

  // Events go out in order through one binding call at a time: an event while none is under
  // way goes at once, those that come while one is go together in the next. Each binding call
  // is a round trip through Playwright's driver to Python and back, so under a burst of
  // messages this is one round trip per batch instead of one per event.
  // A call that never settled would hold every later event, so after `emitStallMs` the next
  // batch goes anyway: the calls reach the driver in the order they were made (one CDP pipe).
  /** @type {import('../bridge.globals').BridgePayload[]} */
  let unsent = [];
  let calling = false;
  let calls = 0;
  const flush = () => {
    if (calling || unsent.length === 0) return;
    const batch = unsent;
    unsent = [];
    calling = true;
    const call = ++calls;
    const settled = () => {
      if (call !== calls || !calling) return; // a later call is under way already
      calling = false;
      flush();
    };
    /** @type {Promise<void>} */
    let answer;
    try {
      answer = window.__waopsEmit(batch);
    } catch (e) {
      // The binding is gone only while the context closes; nothing to forward to.
      calling = false;
      return;
    }
    const stall = setTimeout(settled, config.emitStallMs ?? 10000);
    answer
      .catch(() => {})
      .then(() => {
        clearTimeout(stall);
        settled();
      });
  };
  /** @param {string} event @param {unknown} [data] */
  const emit = (event, data) => {
    unsent.push({ event, data: data === undefined ? null : data });
    flush();
  };
  /** A Wid, MsgKey or WA-JS plain wid object as its serialised string. @param {unknown} v */
  const idString = (v) => {
    if (v == null) return null;
    if (typeof v === 'string') return v;
    const serialized = /** @type {{_serialized?: unknown}} */ (v)._serialized;
    if (typeof serialized === 'string') return serialized;
    const text = String(v);
    return text === '[object Object]' ? null : text;
  };
  /** @param {string} code @param {string} message */
  const fail = (code, message) => Object.assign(new Error(message), { code });
  /** WPPError carries a string `code` (src/util/errors.ts). @param {unknown} e */
  const codeOf = (e) => {
    const code = e == null ? undefined : /** @type {{code?: unknown}} */ (e).code;
    return typeof code === 'string' ? code : null;
  };
  /** @param {unknown} e */
  const messageOf = (e) => String((e instanceof Error && e.message) || e);
  /** @template T @param {Promise<T>} promise @param {number} ms @param {string} code */
  const within = (promise, ms, code) =>
    /** @type {Promise<T>} */ (
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(fail(code, `no answer within ${ms} ms`)), ms);
        promise.then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (error) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      })
    );
  /** @param {string} wid */
  const serverOf = (wid) => wid.slice(wid.lastIndexOf('@') + 1);

  // --- connection -------------------------------------------------------------------------
  const connection = () => {
    const stream = WPP.conn.getStreamData(); // src/conn/functions/getStreamData.ts
    return {
      linked: !!(WPP.conn.isAuthenticated() || WPP.conn.isRegistered()),
      mode: String(stream.mode),
      info: String(stream.info),
      online: !!WPP.conn.isOnline(),
    };
  };
  /** Throws unless linked, MAIN and online: the only state in which a send or check is real. */
  const assertConnected = () => {
    const c = connection();
    if (!c.linked) throw fail('not_logged_in', 'session is not linked');
    if (c.mode === 'TOS_BLOCK' || c.mode === 'SMB_TOS_BLOCK') {
      throw fail('banned', `number is blocked (${c.mode})`);
    }
    if (c.mode !== 'MAIN' || !c.online) {
      throw fail('offline', `not connected (${c.mode}, ${c.online ? 'online' : 'offline'})`);
    }
  };
  const isConnected = () => {
    try {
      assertConnected();
      return true;
    } catch (e) {
      return false;
    }
  };
  const myId = () => {
    try {
      return idString(WPP.conn.getMyUserId());
    } catch (e) {
      return null;
    }
  };

  // The later parts add their members (catchUp, qrText) to this object before anyone reads them.
  window.__waopsBridge = /** @type {import('../bridge.globals').BridgeShared} */ ({
    config,
    delivered,
    ours,
    queued,
    emit,
    idString,
    fail,
    codeOf,
    messageOf,
    within,
    serverOf,
    connection,
    assertConnected,
    isConnected,
    myId,
  });
})();
