// waops WhatsApp Web simulator: a stand-in for @wppconnect/wa-js 4.6 (window.WPP).
// It implements only the subset the waops driver uses, with the same names, payload shapes
// and event order, and talks to the simulator server over a same-origin WebSocket.
(() => {
  'use strict';
  if (window.WPP) return;

  // --- EventEmitter2-like bus --------------------------------------------------------------
  const handlers = new Map();
  const on = (name, fn, once = false) => {
    if (!handlers.has(name)) handlers.set(name, []);
    handlers.get(name).push({ fn, once });
    return WPP;
  };
  const off = (name, fn) => {
    handlers.set(name, (handlers.get(name) || []).filter((h) => h.fn !== fn));
    return WPP;
  };
  const emit = (name, payload) => {
    const list = handlers.get(name) || [];
    handlers.set(name, list.filter((h) => !h.once));
    for (const h of list) {
      try {
        h.fn(payload);
      } catch (e) {
        console.error(`WPP listener for ${name} failed`, e);
      }
    }
  };

  // --- WhatsApp model shapes ---------------------------------------------------------------
  class Wid {
    constructor(serialized) {
      const [user, server] = serialized.split('@');
      this.user = user;
      this.server = server;
      this._serialized = serialized;
    }
    toString() {
      return this._serialized;
    }
  }
  class MsgKey {
    constructor(fromMe, remote, id, participant) {
      this.fromMe = fromMe;
      this.remote = new Wid(remote);
      this.id = id;
      this.participant = participant ? new Wid(participant) : undefined;
      this._serialized = `${fromMe}_${remote}_${id}` + (participant ? `_${participant}` : '');
    }
    toString() {
      return this._serialized;
    }
  }
  const keyFrom = (serialized) => {
    const [fromMe, remote, id, participant] = serialized.split('_');
    return new MsgKey(fromMe === 'true', remote, id, participant);
  };
  const toMsg = (m) => ({
    id: new MsgKey(m.fromMe, m.remote, m.id, m.participant),
    from: new Wid(m.from),
    to: new Wid(m.to),
    author: m.author ? new Wid(m.author) : undefined,
    body: m.body,
    type: m.type,
    t: m.t,
    notifyName: m.notifyName || '',
    ack: m.ack,
    isNewMsg: true,
    isSentByMe: m.fromMe,
    isStatusV3: !!m.isStatusV3,
    isGroupMsg: !!m.isGroupMsg,
    quotedMsgId: m.quotedMsgId ? keyFrom(m.quotedMsgId) : undefined,
  });

  // --- connection state --------------------------------------------------------------------
  const st = { linked: false, registered: false, mode: 'SYNCING', info: 'OPENING', online: false };
  st.auth = null;
  st.me = null;
  const readyFns = [];
  const setReady = () => {
    if (WPP.isReady) return;
    WPP.isReady = true;
    WPP.isFullReady = true;
    for (const fn of readyFns.splice(0)) fn();
  };
  // Both fields change before any event fires, so listeners never read a half-updated pair.
  const setStream = (mode, info, online) => {
    const changed = { mode: mode !== st.mode, info: info !== st.info, online: online !== st.online };
    Object.assign(st, { mode, info, online });
    if (changed.online && !online) emit('conn.online', false);
    if (changed.info) emit('conn.stream_info_changed', info);
    if (changed.mode) {
      emit('conn.stream_mode_changed', mode);
      if (mode === 'MAIN' || mode === 'QR') emit('conn.main_ready');
    }
    if (changed.online && online) emit('conn.online', true);
  };

  const WPP = {
    version: '4.6.0-waops-simulator',
    isInjected: true,
    isReady: false,
    isFullReady: false,
    on: (name, fn) => on(name, fn),
    once: (name, fn) => on(name, fn, true),
    off,
    waitFor: (name) => new Promise((resolve) => on(name, resolve, true)),
    loader: {
      onInjected: (fn) => setTimeout(fn, 0),
      onReady: (fn) => (WPP.isReady ? fn() : readyFns.push(fn)),
      onFullReady: (fn) => (WPP.isReady ? fn() : readyFns.push(fn)),
    },
  };
  window.WPP = WPP;

  const match = location.pathname.match(/^\/s\/([^/]+)\/?$/);
  if (!match) return; // not a simulated WhatsApp page: stay un-ready like WA-JS off WhatsApp
  const name = decodeURIComponent(match[1]);
  const tokenKey = `waops-simulator-token:${name}`;

  // The device token lives in IndexedDB, as WhatsApp Web keeps its keys: a committed IndexedDB
  // transaction survives the browser being killed, while localStorage is flushed lazily.
  const tokenStore = (() => {
    const open = () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('waops-simulator', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('device');
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    const run = (mode, fn) =>
      open().then(
        (db) =>
          new Promise((resolve, reject) => {
            const tx = db.transaction('device', mode, { durability: 'strict' });
            const req = fn(tx.objectStore('device'));
            tx.oncomplete = () => {
              db.close();
              resolve(req.result);
            };
            tx.onerror = () => {
              db.close();
              reject(tx.error);
            };
          }),
      );
    return {
      get: () => run('readonly', (store) => store.get(tokenKey)).then((v) => v || null, () => null),
      set: (token) => run('readwrite', (store) => store.put(token, tokenKey)),
      remove: () => run('readwrite', (store) => store.delete(tokenKey)),
    };
  })();


  // --- socket to the simulator -------------------------------------------------------------
  let socket = null;
  let nextRid = 1;
  const pending = new Map();
  const request = (op, args) =>
    new Promise((resolve, reject) => {
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        reject(new Error('offline: no connection to WhatsApp'));
        return;
      }
      const rid = nextRid++;
      pending.set(rid, { resolve, reject });
      socket.send(JSON.stringify({ op, rid, args: args || {} }));
    });
  const confirm = (seq) => socket.send(JSON.stringify({ op: 'confirm', seq }));

  const onPush = {
    qr(p) {
      Object.assign(st, { linked: false, registered: false, auth: p.auth, me: null });
      setReady();
      setStream('QR', 'PAIRING', true);
      emit('conn.auth_code_change', { ...p.auth });
    },
    session(p) {
      Object.assign(st, { linked: true, registered: true, auth: null, me: new Wid(p.wid) });
      setReady();
      setStream(p.mode, p.info, p.online);
    },
    auth_code(p) {
      st.auth = p.auth;
      emit('conn.auth_code_change', { ...p.auth });
    },
    async paired(p) {
      await tokenStore.set(p.token);
      Object.assign(st, { linked: true, auth: null, me: new Wid(p.wid) });
      emit('conn.auth_code_change', null);
      emit('conn.authenticated');
      setStream('SYNCING', 'SYNCING', true);
      setStream('MAIN', 'NORMAL', true);
    },
    async logout(p) {
      await tokenStore.remove();
      Object.assign(st, { linked: false, registered: false, auth: p.auth, me: null });
      emit('conn.logout_reason', p.reason);
      emit('conn.logout');
      setStream('QR', 'PAIRING', true);
      emit('conn.auth_code_change', { ...p.auth });
    },
    stream(p) {
      setStream(p.mode, p.info, p.online);
    },
    message(p) {
      emit('chat.new_message', toMsg(p.msg));
      confirm(p.seq);
    },
    ack(p) {
      const ids = p.ids.map(keyFrom);
      emit('chat.msg_ack_change', { ack: p.ack, chat: ids[0] && ids[0].remote, ids, sender: null });
      confirm(p.seq);
    },
    reply(p) {
      const waiter = pending.get(p.rid);
      pending.delete(p.rid);
      if (!waiter) return;
      if (p.error) waiter.reject(new Error(p.error));
      else waiter.resolve(p.result);
    },
    reload() {
      socket.onclose = null;
      location.reload();
    },
    freeze() {
      // The page hangs for good, as a stuck WhatsApp Web tab would: only a new one helps.
      for (;;) {}
    },
    conflict() {
      socket.onclose = null;
      setStream('CONFLICT', 'NORMAL', false);
    },
  };

  const connect = () => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/s/${encodeURIComponent(name)}/socket`);
    socket.onopen = () => {
      tokenStore.get().then((token) => socket.send(JSON.stringify({ op: 'hello', token })));
    };
    socket.onmessage = (ev) => {
      const push = JSON.parse(ev.data);
      onPush[push.type](push);
    };
    socket.onclose = () => {
      for (const waiter of pending.values()) waiter.reject(new Error('offline: connection lost'));
      pending.clear();
      if (WPP.isReady) setStream(st.linked ? 'OFFLINE' : st.mode, 'OFFLINE', false);
      setTimeout(connect, 1000);
    };
  };
  connect();

  // --- the API subset --------------------------------------------------------------------
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const randomId = () =>
    '3EB0' +
    Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => b.toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase();

  WPP.conn = {
    getAuthCode: async () => (st.linked || !st.auth ? null : { ...st.auth }),
    refreshQR: async () => request('refresh_qr'),
    genLinkDeviceCodeForPhoneNumber: async (phone, sendPush = true) => {
      if (st.linked) throw new Error('cannot_get_code_for_already_authenticated');
      return request('link_code', { phone: String(phone), sendPush });
    },
    isAuthenticated: () => st.linked,
    isRegistered: () => st.linked && st.registered,
    isMainReady: () => st.mode === 'MAIN',
    isOnline: () => st.online,
    isIdle: () => false,
    getStreamData: () => ({ mode: st.mode, info: st.info }),
    getMyUserId: () => st.me || undefined,
    setKeepAlive: () => true,
    logout: async () => {
      await request('logout');
      return true;
    },
  };

  WPP.chat = {
    markIsComposing: async (chatId, duration) => {
      await request('composing', { chat: String(chatId), duration: duration || 0 });
    },
    markIsRead: async () => undefined,
    sendTextMessage: async (chatId, content, options = {}) => {
      const opts = { linkPreview: true, markIsRead: true, waitForAck: true, delay: 0, ...options };
      if (!st.linked) throw new Error('not authenticated');
      const to = String(chatId);
      if (opts.delay > 0) {
        await WPP.chat.markIsComposing(to, opts.delay);
        await sleep(opts.delay);
      }
      const messageId = opts.messageId || randomId();
      const r = await request('send', { to, body: String(content), messageId });
      const me = st.me._serialized;
      const msg = { fromMe: true, remote: r.to, id: messageId, from: me, to: r.to, body: String(content) };
      emit('chat.new_message', toMsg({ ...msg, type: 'chat', t: r.t, ack: r.ack }));
      return {
        id: r.id,
        ack: r.ack,
        from: me,
        to: r.to,
        sendMsgResult: Promise.resolve({ messageSendResult: 'OK' }),
      };
    },
  };

  WPP.contact = {
    queryWidExists: async (contactId) => {
      const r = await request('exists', { number: String(contactId) });
      return r ? { wid: new Wid(r.wid), biz: !!r.biz } : null;
    },
    queryExists: (contactId) => WPP.contact.queryWidExists(contactId),
  };
})();
