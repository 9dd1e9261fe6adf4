// waops WhatsApp Web simulator: a stand-in for @wppconnect/wa-js 4.6.0 (window.WPP).
//
// It implements only the subset waops uses, with WA-JS's names, payload shapes, rules and
// errors, each taken from the WA-JS 4.6.0 source (src/... paths cited beside them) and, where
// WA-JS calls into WhatsApp Web itself, from WhatsApp Web's module named in the comment.
// It never follows our driver. It talks to the simulator server over a same-origin WebSocket:
// requests ("op") are what WhatsApp Web would ask its servers, pushes are what they send.
(() => {
  'use strict';
  if (window.WPP) return;

  // --- events: EventEmitter2 subset (src/eventEmitter/index.ts) ------------------------------
  class Emitter {
    constructor() {
      this.handlers = new Map();
    }
    on(name, fn, once = false) {
      if (!this.handlers.has(name)) this.handlers.set(name, []);
      this.handlers.get(name).push({ fn, once });
      return this;
    }
    once(name, fn) {
      return this.on(name, fn, true);
    }
    off(name, fn) {
      this.handlers.set(name, (this.handlers.get(name) || []).filter((h) => h.fn !== fn));
      return this;
    }
    emit(name, ...args) {
      const list = this.handlers.get(name) || [];
      this.handlers.set(name, list.filter((h) => !h.once));
      for (const h of list) {
        try {
          h.fn(...args);
        } catch (e) {
          console.error(`listener for ${name} failed`, e);
        }
      }
    }
    // EventEmitter2's waitFor resolves with the array of the event's arguments.
    waitFor(name) {
      return new Promise((resolve) => this.once(name, (...args) => resolve(args)));
    }
  }
  const ev = new Emitter();

  // --- errors and ids ------------------------------------------------------------------------
  // src/util/errors.ts: WPPError(code, message, extra) copies `extra` onto the error.
  class WPPError extends Error {
    constructor(code, message, extra = {}) {
      super(message);
      this.code = code;
      Object.assign(this, extra);
    }
  }

  class Wid {
    constructor(serialized) {
      const at = serialized.indexOf('@');
      this.user = serialized.slice(0, at);
      this.server = serialized.slice(at + 1);
      this._serialized = serialized;
    }
    toString() {
      return this._serialized;
    }
    equals(other) {
      return other instanceof Wid && other._serialized === this._serialized;
    }
    isLid() {
      return this.server === 'lid';
    }
    isUser() {
      return this.server === 'c.us' || this.server === 'lid';
    }
    isGroup() {
      return this.server === 'g.us';
    }
    isBroadcast() {
      return this.server === 'broadcast';
    }
    isStatus() {
      return this._serialized === 'status@broadcast';
    }
  }
  const WID_RE = /^([0-9A-Za-z.:-]+)@(c\.us|g\.us|lid|broadcast|newsletter)$/;
  // WhatsApp's WidFactory.createWid: a "user@server" string (s.whatsapp.net is c.us).
  const widFactoryCreate = (id) => {
    const m = WID_RE.exec(String(id).replace('@s.whatsapp.net', '@c.us'));
    return m ? new Wid(m[0]) : undefined;
  };
  // src/util/createWid.ts: digits -> @c.us, "<a>-<b>" -> @g.us, "...status" -> @broadcast.
  const createWid = (id) => {
    if (!id) return undefined;
    if (id instanceof Wid) return id;
    if (typeof id === 'object' && typeof id._serialized === 'string') id = id._serialized;
    if (typeof id !== 'string') return undefined;
    if (/@\w*lid\b/.test(id)) return widFactoryCreate(id);
    if (/^\d+$/.test(id)) return new Wid(`${id}@c.us`);
    if (/^\d+-\d+$/.test(id)) return new Wid(`${id}@g.us`);
    if (/status$/.test(id)) return new Wid(`${id}@broadcast`);
    return widFactoryCreate(id);
  };
  // src/assert/assertWid.ts: InvalidWid.
  const assertWid = (id) => {
    const wid = createWid(id);
    if (!wid) throw new WPPError('invalid_wid', `Invalid WID value for ${id}`, { id });
    return wid;
  };
  // WhatsApp's WidFactory.createWidFromWidLike: a Wid-like or its string; nothing from nothing.
  const createWidFromWidLike = (w) => (w == null ? undefined : createWid(w));

  // --- the account (UserPrefs) ----------------------------------------------------------------
  const me = { wid: null, lid: null };
  const isMe = (wid) => !!wid && (wid.equals(me.wid) || wid.equals(me.lid));

  // WhatsApp Web's WAWebMsgKey (the class WA-JS wraps in src/whatsapp/misc/MsgKey.ts).
  class MsgKey {
    constructor(obj) {
      if (!obj) throw new Error('MsgKey error: obj is null/undefined');
      const hasId = typeof obj.id === 'string' && obj.id !== '';
      const byFromTo = obj.from != null && obj.to != null && hasId;
      const byRemote = obj.fromMe !== undefined && obj.remote != null && hasId;
      if (byFromTo && byRemote) throw new Error('MsgKey error: unclear which constructor to use');
      if (!byFromTo && !byRemote) {
        throw new Error("MsgKey error: don't have a matching constructor");
      }
      const participant = obj.participant;
      if (byFromTo) {
        if (!(obj.from instanceof Wid) || !(obj.to instanceof Wid)) {
          throw new Error('MsgKey error: something is not a wid');
        }
        this.fromMe = isMe(obj.from);
        this.remote = this.fromMe ? obj.to : obj.from;
      } else {
        if (!(obj.remote instanceof Wid) || (participant && !(participant instanceof Wid))) {
          throw new Error('MsgKey error: something is not a wid');
        }
        this.fromMe = obj.fromMe;
        this.remote = obj.remote;
      }
      this.id = obj.id;
      const parts = [this.fromMe, this.remote, this.id];
      if (participant !== undefined) {
        this.participant = participant;
        parts.push(participant);
      }
      this._serialized = parts.join('_');
    }
    toString() {
      return this._serialized;
    }
    clone() {
      return new MsgKey(this);
    }
    equals(other) {
      return other instanceof MsgKey && other.toString() === this.toString();
    }
    // WAWebMsgKey.fromString -> WAWebParseMsgKeyString: split on "_"; fewer than 3 parts only
    // logs a warning and leaves remote and id undefined, so the constructor then throws
    // "don't have a matching constructor" (a plain Error, not a WPPError).
    static fromString(str) {
      if (str == null) throw new Error('MsgKey.fromString error: str is null or not a string');
      return MsgKey.from(str);
    }
    static from(e) {
      if (e instanceof MsgKey) return e;
      let t = e;
      if (typeof e === 'string') {
        if (!e) throw new Error('MsgKey fromString error: str is null or not a string');
        const n = e.split('_');
        let participant;
        if (n.length < 3) console.warn('MsgKey error: cannot create MsgKey from', e);
        else if (n.length === 4 && n[3] !== 'out' && n[3] !== 'in') participant = n[3];
        else if (n.length === 5) participant = n[4];
        t = { fromMe: n[0] === 'true', remote: n[1], id: n[2], participant };
      }
      return new MsgKey({
        fromMe: t.fromMe,
        remote: createWidFromWidLike(t.remote),
        id: t.id,
        participant: t.participant ? createWidFromWidLike(t.participant) : undefined,
      });
    }
  }
  // WAWebMsgKey.newId_DEPRECATED: "3EB0" + random hex.
  const randomMessageId = () =>
    '3EB0' +
    Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => b.toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase();

  // --- models and stores ----------------------------------------------------------------------
  // WhatsApp models keep attributes in "__x_<name>" behind prototype accessors; they are not
  // plain objects: serialise what you need in the page (src/whatsapp/models/Model.ts).
  const defineAttributes = (cls, names) => {
    for (const name of names) {
      Object.defineProperty(cls.prototype, name, {
        get() {
          return this[`__x_${name}`];
        },
        set(value) {
          this[`__x_${name}`] = value;
        },
        configurable: true,
      });
    }
    cls.prototype.serialize = function serialize() {
      const out = {};
      for (const name of names) if (this[name] !== undefined) out[name] = this[name];
      return out;
    };
    cls.prototype.toJSON = cls.prototype.serialize;
  };

  // src/whatsapp/models/ChatModel.ts: t (the last activity), lastReceivedKey (the key of the
  // chat's newest message, sent or received: whatsapp-web.js PR #1606 reads Chat.lastMessage
  // from it), archive; derived isUser and hasUnread (unreadCount -1 is "marked as unread").
  class ChatModel {
    constructor(id) {
      this.id = id;
      this.unreadCount = 0;
      this.t = undefined;
      this.lastReceivedKey = undefined;
      this.archive = false;
    }
    get isUser() {
      return this.id.isUser();
    }
    get hasUnread() {
      return this.unreadCount > 0 || this.unreadCount === -1;
    }
  }
  defineAttributes(ChatModel, ['id', 'unreadCount', 't', 'lastReceivedKey', 'archive']);
  // A message joins its chat: the chat's activity and newest key follow the newest message
  // (`touched` orders chats active within the same second, as the chat list moves them up).
  let touches = 0;
  const touchChat = (chat, msg) => {
    if (chat.t === undefined || Number(msg.t) >= chat.t) {
      chat.t = Number(msg.t);
      chat.lastReceivedKey = msg.id;
      chat.touched = ++touches;
    }
  };

  // MsgModel.ts attributes (subset) and derived values.
  const MSG_ATTRIBUTES = [
    'id', 'body', 'type', 'subtype', 't', 'notifyName', 'from', 'to', 'author', 'self', 'ack',
    'isNewMsg', 'local', 'caption', 'mimetype', 'duration', 'size', 'filename', 'pageCount',
    'width', 'height', 'isViewOnce', 'quotedStanzaID', 'quotedParticipant', 'quotedRemoteJid',
  ]; // prettier-ignore
  const MEDIA_TYPES = ['image', 'video', 'audio', 'ptt', 'document', 'sticker'];
  const NOTIFICATION_TYPES = [
    'notification', 'notification_template', 'e2e_notification', 'gp2', 'call_log', 'protocol',
    'broadcast_notification',
  ]; // prettier-ignore
  class MsgModel {
    constructor(attrs) {
      this._events = new Emitter();
      Object.assign(this, attrs);
    }
    set(attrs) {
      const typeChanged = 'type' in attrs && attrs.type !== this.type;
      Object.assign(this, attrs);
      if (typeChanged) this._events.emit('change:type', this, this.type);
    }
    once(name, fn) {
      this._events.once(name, fn);
    }
    get isSentByMe() {
      return !!this.id && this.id.fromMe;
    }
    get isStatusV3() {
      return !!this.id && this.id.remote.isStatus();
    }
    get isMedia() {
      return MEDIA_TYPES.includes(this.type);
    }
    get isNotification() {
      return NOTIFICATION_TYPES.includes(this.type);
    }
    // src/chat/events/registerNewMessageEvent.ts defines chat, isGroupMsg and quotedMsgId.
    get chat() {
      return chatStore.get(this.id && this.id.fromMe ? this.to : this.from);
    }
    get isGroupMsg() {
      return !!this.chat && this.chat.id.isGroup();
    }
    get quotedMsgId() {
      if (!this.quotedStanzaID) return undefined;
      const remote = this.quotedRemoteJid || this.id.remote;
      const fromMe = !!this.quotedParticipant && isMe(this.quotedParticipant);
      return new MsgKey({ fromMe, remote, id: this.quotedStanzaID });
    }
  }
  defineAttributes(MsgModel, MSG_ATTRIBUTES);

  const chatStore = new Map();
  chatStore.getOrAdd = (wid) => {
    if (!chatStore.has(wid.toString())) chatStore.set(wid.toString(), new ChatModel(wid));
    return chatStore.get(wid.toString());
  };
  const baseGet = chatStore.get.bind(chatStore);
  chatStore.get = (id) => (id == null ? undefined : baseGet(id.toString()));
  // src/whatsapp/collections/ChatCollection.ts has a comparator: WhatsApp Web lists chats by
  // their last activity, newest first.
  chatStore.getModelsArray = () =>
    [...chatStore.values()].sort(
      (a, b) => (Number(b.t) || 0) - (Number(a.t) || 0) || (b.touched || 0) - (a.touched || 0),
    );
  const contactStore = new Map(); // id -> ContactModel-like {id, pushname, isBusiness}
  // WhatsApp's lidPnCache (src/whatsapp/...: lidPnCache.getPhoneNumber / getCurrentLid).
  const lidPn = {
    toPn: new Map(),
    toLid: new Map(),
    learn(lid, pn) {
      this.toPn.set(String(lid), new Wid(String(pn)));
      this.toLid.set(String(pn), new Wid(String(lid)));
    },
    getPhoneNumber: (wid) => lidPn.toPn.get(wid.toString()),
    getCurrentLid: (wid) => lidPn.toLid.get(wid.toString()),
  };
  const msgStore = new Map();
  let newMessageEventRegistered = false;
  let ackEventRegistered = false;

  // MsgStore 'add' as src/chat/events/registerNewMessageEvent.ts handles it: every new message
  // (ours included); a ciphertext one fires again, same object, once its type changes.
  // A model already in the store is merged, not added again: no second event.
  const addMessage = (msg) => {
    const key = msg.id.toString();
    if (msgStore.has(key)) return false;
    msgStore.set(key, msg);
    if (newMessageEventRegistered && msg.isNewMsg) {
      queueMicrotask(() => {
        if (msg.type === 'ciphertext') {
          msg.once('change:type', () => queueMicrotask(() => ev.emit('chat.new_message', msg)));
        }
        ev.emit('chat.new_message', msg);
      });
    }
    return true;
  };
  // MsgStore 'change:ack' as src/chat/events/registerAckMessageEvent.ts handles it (only
  // registered at full ready): ack 1 is emitted with the message's own key and `to`.
  const setAck = (msg, ack) => {
    msg.ack = ack;
    if (ackEventRegistered && ack === 1) {
      queueMicrotask(() => ev.emit('chat.msg_ack_change', { ack, chat: msg.to, ids: [msg.id] }));
    }
  };

  // --- connection state (Stream, Socket, NetworkStatus, Conn) ----------------------------------
  const st = { linked: false, registered: false, mode: null, info: null, online: false };
  st.socket = 'OPENING';
  st.auth = null; // the AuthCode of Conn.ref
  let mainReadyFired = false;
  const socketModel = new Emitter();

  // registerStreamEvent.ts / registerOnlineEvent.ts / registerMainReadyEvent.ts (main_ready
  // once per page, on the first MAIN or QR) / registerQRCodeIdleEvent.ts and
  // registerRequireAuthEvent.ts (on Socket change:state).
  const setStream = (mode, info, online, socket) => {
    const changed = {
      mode: mode !== st.mode,
      info: info !== st.info,
      online: online !== st.online,
      socket: socket !== undefined && socket !== st.socket,
    };
    Object.assign(st, { mode, info, online });
    if (socket !== undefined) st.socket = socket;
    if (changed.online && !online) ev.emit('conn.online', false);
    if (changed.info) ev.emit('conn.stream_info_changed', info);
    if (changed.mode) {
      ev.emit('conn.stream_mode_changed', mode);
      if (!mainReadyFired && (mode === 'MAIN' || mode === 'QR')) {
        mainReadyFired = true;
        ev.emit('conn.main_ready');
      }
    }
    if (changed.online && online) ev.emit('conn.online', true);
    if (changed.socket) socketModel.emit('change:state', socketModel, st.socket);
  };
  socketModel.on('change:state', () => {
    if (st.socket === 'UNPAIRED_IDLE') ev.emit('conn.qrcode_idle');
  });
  let requireAuthFired = false;
  socketModel.on('change:state', () => {
    if (st.linked) {
      requireAuthFired = false;
    } else if (!requireAuthFired && ['UNPAIRED', 'UNPAIRED_IDLE'].includes(st.socket)) {
      requireAuthFired = true;
      ev.emit('conn.require_auth');
    }
  });
  // registerAuthCodeChangeEvent.ts: Conn 'change:ref' -> getAuthCode().
  const setAuth = (auth) => {
    const changed = (auth && auth.ref) !== (st.auth && st.auth.ref);
    st.auth = auth;
    if (changed) ev.emit('conn.auth_code_change', authCode());
  };
  // getAuthCode.ts: null without a ref, when connected, authenticated or registered.
  const authCode = () =>
    !st.auth || st.linked || st.registered ? null : { ...st.auth, type: 'multidevice' };

  const config = { link_code_ttl_s: 195, exists_hit_ttl_s: 300, exists_miss_ttl_s: 15 };
  config.decrypt_delay_s = 0.05;

  // --- the loader (src/loader/index.ts) -------------------------------------------------------
  const WPP = {
    version: '4.6.0-waops-simulator',
    isInjected: false,
    isReady: false,
    isFullReady: false,
    on: (name, fn) => ev.on(name, fn),
    once: (name, fn) => ev.once(name, fn),
    off: (name, fn) => ev.off(name, fn),
    emit: (name, ...args) => ev.emit(name, ...args),
    waitFor: (name) => ev.waitFor(name),
    // onInjected/onReady/onFullReady only listen for the loader event: registered after it
    // fired, the listener never runs. Listeners run in a setTimeout(listener, delay).
    loader: {
      onInjected: (fn, delay = 0) => ev.on('loader.injected', () => setTimeout(fn, delay)),
      onReady: (fn, delay = 0) => ev.on('loader.ready', () => setTimeout(fn, delay)),
      onFullReady: (fn, delay = 0) => ev.on('loader.full_ready', () => setTimeout(fn, delay)),
    },
  };
  window.WPP = WPP;
  // Before isReady WhatsApp's modules are not resolved yet: WA-JS functions fail reading them.
  const needReady = (name) => {
    if (!WPP.isReady) {
      throw new TypeError(`Cannot read properties of undefined (WPP.${name} before WPP.isReady)`);
    }
  };

  const match = location.pathname.match(/^\/s\/([^/]+)\/?$/);
  if (!match) return; // not a simulated WhatsApp page: stay un-injected like WA-JS off WhatsApp
  const name = decodeURIComponent(match[1]);
  const tokenKey = `waops-simulator-token:${name}`;

  // Registered at onInjected in WA-JS: new messages (registerNewMessageEvent.ts) and the
  // stream's current mode; the ack event waits for full ready (registerAckMessageEvent.ts).
  WPP.loader.onInjected(() => {
    newMessageEventRegistered = true;
  });
  WPP.loader.onFullReady(() => {
    ackEventRegistered = true;
  });
  const becomeReady = () => {
    WPP.isReady = true;
    ev.emit('loader.ready');
    const full = () => {
      WPP.isFullReady = true;
      ev.emit('loader.full_ready');
    };
    if (mainReadyFired) full();
    else ev.once('conn.main_ready', full);
  };

  // The device token and the messages live in IndexedDB, as WhatsApp Web keeps its keys and its
  // MsgStore (WA-JS reads stored messages through msgFindByDirection, "@whatsapp
  // WAWebDBMessageFindLocal"): a committed IndexedDB transaction survives the browser being
  // killed, while localStorage is flushed lazily.
  const idb = (() => {
    const open = () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('waops-simulator', 2);
        req.onupgradeneeded = () => {
          for (const store of ['device', 'messages']) {
            if (!req.result.objectStoreNames.contains(store)) req.result.createObjectStore(store);
          }
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    return (storeName, mode, fn) =>
      open().then(
        (db) =>
          new Promise((resolve, reject) => {
            const tx = db.transaction(storeName, mode, { durability: 'strict' });
            const req = fn(tx.objectStore(storeName));
            tx.oncomplete = () => {
              db.close();
              resolve(req && req.result);
            };
            tx.onerror = () => {
              db.close();
              reject(tx.error);
            };
          }),
      );
  })();
  const tokenStore = {
    get: () => idb('device', 'readonly', (store) => store.get(tokenKey)).then((v) => v || null, () => null),
    set: (token) => idb('device', 'readwrite', (store) => store.put(token, tokenKey)),
    remove: () => idb('device', 'readwrite', (store) => store.delete(tokenKey)),
  };
  // Every message of this session's device, as the simulator pushed it (or as we sent it), keyed
  // "<session>|<serialised key>". It dies with the device: on logout and on a page that loads
  // unpaired.
  const messagesOfThisSession = IDBKeyRange.bound(`${name}|`, `${name}|\uffff`);
  let written = 0;
  const msgDb = {
    put: (record) => {
      const key = `${name}|${record.fromMe}_${record.remote}_${record.id}`;
      const entry = { m: record, n: performance.timeOrigin + performance.now() + written++ / 1000 };
      return idb('messages', 'readwrite', (store) => store.put(entry, key));
    },
    all: () =>
      idb('messages', 'readonly', (store) => store.getAll(messagesOfThisSession)).then((rows) =>
        (rows || []).sort((a, b) => a.m.t - b.m.t || a.n - b.n).map((row) => row.m),
      ),
    clear: () => idb('messages', 'readwrite', (store) => store.delete(messagesOfThisSession)),
  };

  // --- socket to the simulator ----------------------------------------------------------------
  let socket = null;
  let replaced = false; // another page took the session over (CONFLICT)
  let readyScheduled = false;
  let handled = Promise.resolve();
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
  const confirm = (seq) => socket && socket.send(JSON.stringify({ op: 'confirm', seq }));
  const reloadSoon = () => {
    if (socket) socket.onclose = null;
    setTimeout(() => location.reload(), 100);
  };

  const restoreAccount = (p) => {
    me.wid = new Wid(p.wid);
    me.lid = new Wid(p.lid);
    for (const id of p.chats || []) chatStore.getOrAdd(new Wid(id));
    for (const [id, pushname] of Object.entries(p.contacts || {})) {
      contactStore.set(id, { id: new Wid(id), pushname, isBusiness: false, type: 'in' });
    }
    for (const [lid, pn] of Object.entries(p.lids || {})) lidPn.learn(lid, pn);
  };
  const meIn = (chat) => (chat.endsWith('@lid') || chat.endsWith('@g.us') ? me.lid : me.wid);
  const wid = (s) => (s ? new Wid(s) : undefined);
  const MEDIA_FIELDS = ['caption', 'mimetype', 'duration', 'size', 'filename', 'pageCount'];
  const messageAttrs = (m) => {
    const attrs = {
      id: new MsgKey({ fromMe: m.fromMe, remote: new Wid(m.remote), id: m.id,
        participant: wid(m.participant) }), // prettier-ignore
      from: m.from ? new Wid(m.from) : meIn(m.remote),
      to: m.to ? new Wid(m.to) : meIn(m.remote),
      author: wid(m.author),
      body: m.body,
      type: m.type,
      subtype: m.subtype,
      t: m.t,
      notifyName: m.notifyName || '',
      ack: m.ack,
      isNewMsg: true,
      self: m.fromMe ? 'out' : 'in',
    };
    for (const f of [...MEDIA_FIELDS, 'width', 'height']) if (m[f] != null) attrs[f] = m[f];
    if (m.quotedMsgId) {
      const quoted = MsgKey.fromString(m.quotedMsgId);
      Object.assign(attrs, { quotedStanzaID: quoted.id, quotedRemoteJid: quoted.remote });
      if (quoted.fromMe) attrs.quotedParticipant = me.lid || me.wid;
    }
    return attrs;
  };

  const onPush = {
    async init(p) {
      Object.assign(config, p.config || {});
      st.linked = st.registered = !!p.linked;
      if (p.linked) {
        restoreAccount(p);
        await restoreMessages();
      } else {
        await msgDb.clear(); // an unpaired device keeps nothing of the account it had
      }
      setStream(p.mode, p.info, p.online, p.socket);
      setAuth(p.linked ? null : p.auth);
      if (!readyScheduled) {
        readyScheduled = true;
        setTimeout(becomeReady, (p.ready_after_s || 0) * 1000);
      }
    },
    auth_code(p) {
      if (p.socket) setStream(p.mode, p.info, p.online, p.socket);
      setAuth(p.auth);
    },
    qr_idle(p) {
      setStream(p.mode, p.info, p.online, p.socket);
    },
    async paired(p) {
      await tokenStore.set(p.token);
      st.linked = true;
      me.wid = new Wid(p.wid);
      me.lid = new Wid(p.lid);
      setAuth(null); // Conn 'change:ref': conn.auth_code_change(null)
      ev.emit('conn.authenticated'); // registerAuthenticatedEvent.ts
      setStream('SYNCING', 'SYNCING', true, 'CONNECTED');
      setStream(p.mode, p.info, p.online, p.socket);
    },
    // The phone unlinked this device: logout reason, Cmd 'logout' (registerLogoutEvent.ts,
    // registerLogoutReasonEvent.ts), then WhatsApp Web reloads itself to a fresh QR.
    async logout(p) {
      await tokenStore.remove();
      await msgDb.clear();
      st.linked = st.registered = false;
      ev.emit('conn.logout_reason', p.reason);
      ev.emit('conn.logout');
      reloadSoon();
    },
    stream(p) {
      setStream(p.mode, p.info, p.online, p.socket);
    },
    // The receipt (confirm) goes back only once the message is in the persistent store, as
    // WhatsApp's servers keep a message until the device's receipt and never send it after it
    // (the server side of the simulator: Phone.deliver / Phone.confirm).
    message(p) {
      receive(p.msg).then(
        () => confirm(p.seq),
        (err) => console.error('message not stored; WhatsApp will deliver it again', err),
      );
    },
    // processSimpleACK of registerAckMessageEvent.ts: receipts (ack >= 2) for our messages,
    // keys built from the receipt's sender (the @lid form for migrated contacts).
    ack(p) {
      const keys = p.ids.map((k) => MsgKey.fromString(k));
      for (const key of keys) {
        const msg = msgStore.get(key.toString());
        if (msg && (msg.ack || 0) < p.ack) msg.ack = p.ack;
      }
      if (ackEventRegistered && p.ack >= 2) {
        const payload = { ack: p.ack, chat: new Wid(p.chat), sender: wid(p.participant), ids: keys };
        queueMicrotask(() => ev.emit('chat.msg_ack_change', payload));
      }
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
      if (socket) socket.onclose = null;
      location.reload();
    },
    freeze() {
      // The page hangs for good, as a stuck WhatsApp Web tab would: only a new one helps.
      for (;;) {}
    },
    // Another page opened this session: this one stops ("open in another window").
    conflict() {
      replaced = true;
      if (socket) socket.onclose = null;
      setStream('CONFLICT', 'NORMAL', st.online, 'CONFLICT');
    },
    // The pairing code's lifetime ended at WhatsApp's side (expire-link-code).
    link_code_timeout() {
      linkCode.onTimeout(linkCode.state.epoch);
    },
  };

  // A message joins the page's stores; `restored` ones come from IndexedDB after a load and
  // are not new (registerNewMessageEvent.ts fires only for isNewMsg).
  const learnFrom = (m, attrs, restored) => {
    if (m.pn && attrs.id.remote.isLid()) lidPn.learn(m.remote, m.pn);
    if (m.pn && attrs.author && attrs.author.isLid()) lidPn.learn(m.author, m.pn);
    const chatId = attrs.id.remote;
    const chat = chatId.isStatus() ? null : chatStore.getOrAdd(chatId);
    if (chat && !m.fromMe && !restored) chat.unreadCount += 1;
    const sender = attrs.author || attrs.from;
    if (!m.fromMe && m.notifyName && sender.isUser()) {
      contactStore.set(sender.toString(), { id: sender, pushname: m.notifyName, type: 'in',
        isBusiness: false }); // prettier-ignore
    }
    return chat;
  };
  const restoreMessages = async () => {
    for (const m of await msgDb.all()) {
      const attrs = { ...messageAttrs(m), isNewMsg: false };
      if (msgStore.has(attrs.id.toString())) continue;
      const chat = learnFrom(m, attrs, true);
      const msg = new MsgModel(attrs);
      msgStore.set(msg.id.toString(), msg);
      if (chat) touchChat(chat, msg);
    }
  };

  const receive = async (m) => {
    const attrs = messageAttrs(m);
    // A message delivered again (its receipt was lost) is in the store already: WhatsApp Web
    // only sends the receipt again.
    if (msgStore.has(attrs.id.toString())) return;
    const record = { ...m, ciphertext: false };
    delete record.seq;
    const chat = learnFrom(m, attrs, false);
    if (!m.ciphertext) {
      await msgDb.put(record);
      const msg = new MsgModel(attrs);
      if (chat) touchChat(chat, msg);
      addMessage(msg);
      return;
    }
    const real = {};
    for (const f of ['type', 'subtype', 'body', ...MEDIA_FIELDS]) real[f] = attrs[f];
    for (const f of MEDIA_FIELDS) delete attrs[f];
    const msg = new MsgModel({ ...attrs, type: 'ciphertext', subtype: 'fanout', body: '' });
    if (chat) touchChat(chat, msg);
    if (!addMessage(msg)) return;
    await new Promise((resolve) => setTimeout(resolve, config.decrypt_delay_s * 1000));
    await msgDb.put(record);
    msg.set(real);
  };

  const connect = (takeover = false) => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/s/${encodeURIComponent(name)}/socket`);
    const mine = socket;
    socket.onopen = () => {
      tokenStore.get().then((token) => mine.send(JSON.stringify({ op: 'hello', token, takeover })));
    };
    // Pushes are handled in order, each after the previous one's async part (the token
    // write of "paired" comes before the messages that follow it).
    socket.onmessage = (e) => {
      const push = JSON.parse(e.data);
      handled = handled.then(() => onPush[push.type](push)).catch((err) => console.error(err));
    };
    socket.onclose = () => {
      for (const waiter of pending.values()) waiter.reject(new Error('offline: connection lost'));
      pending.clear();
      if (st.mode) setStream(st.linked ? 'OFFLINE' : st.mode, 'OFFLINE', false);
      setTimeout(() => connect(), 1000);
    };
  };

  // Injected at once (src/loader/index.ts sets isInjected and emits loader.injected together).
  setTimeout(() => {
    WPP.isInjected = true;
    ev.emit('loader.injected');
    ev.emit('conn.auth_code_change', authCode()); // registerAuthCodeChangeEvent.ts: trigger()
    connect();
  }, 0);

  // --- WPP.conn -------------------------------------------------------------------------------
  const isAuthenticated = () => st.linked;
  // genLinkDeviceCodeForPhoneNumber.ts
  const genLinkDeviceCodeForPhoneNumber = async (phone, sendPushNotification = true) => {
    needReady('conn.genLinkDeviceCodeForPhoneNumber');
    if (!phone || typeof phone !== 'string') {
      throw new WPPError(
        'send_the_phone_number_to_connect',
        "Can't get code for without phone number param",
      );
    }
    if (isAuthenticated()) {
      throw new WPPError(
        'cannot_get_code_for_already_authenticated',
        "Can't get code for already authenticated user",
      );
    }
    return request('link_code', { phone, sendPush: sendPushNotification });
  };

  // linkDeviceCodeLifecycle.ts: the managed flow. A code lives LINK_CODE_TTL_MS (here the
  // simulator's link_code_ttl_s); at most MAX_AUTO_REFRESHES automatic refreshes, then
  // conn.link_code_expired. Cancelled on conn.authenticated, conn.logout and conn.main_ready.
  const MAX_AUTO_REFRESHES = 5;
  const linkCode = {
    state: { code: null, epoch: 0, inFlight: null, phone: null, refreshCount: 0, timer: null },
    sendPush: true,
    clearTimer() {
      if (this.state.timer) clearTimeout(this.state.timer);
      this.state.timer = null;
    },
    emitError(error) {
      ev.emit('conn.link_code_error', error instanceof Error ? error : new Error(String(error)));
    },
    scheduleRefresh() {
      this.clearTimer();
      const epoch = this.state.epoch;
      this.state.timer = setTimeout(() => this.onTimeout(epoch), config.link_code_ttl_s * 1000);
    },
    onTimeout(epoch) {
      const s = this.state;
      if (epoch !== s.epoch || !s.phone) return;
      if (s.refreshCount >= MAX_AUTO_REFRESHES) {
        s.code = null;
        s.timer = null;
        ev.emit('conn.link_code_expired');
        return;
      }
      s.refreshCount++;
      refreshLinkDeviceCode().catch(() => undefined);
    },
    async generate() {
      const s = this.state;
      if (!s.phone) throw new Error('No phone linking flow is active');
      if (s.inFlight) return s.inFlight;
      const epoch = s.epoch;
      const operation = genLinkDeviceCodeForPhoneNumber(s.phone, this.sendPush).then((code) => {
        if (epoch !== s.epoch) return code;
        s.code = code;
        this.scheduleRefresh();
        ev.emit('conn.link_code_change', code);
        return code;
      });
      s.inFlight = operation;
      try {
        return await operation;
      } finally {
        if (s.inFlight === operation) s.inFlight = null;
      }
    },
  };
  const startLinkDeviceCodeForPhoneNumber = async (phone, sendPushNotification = true) => {
    const s = linkCode.state;
    if (s.phone === phone) {
      if (s.code) return s.code;
      if (s.inFlight) return s.inFlight;
    } else {
      cancelLinkDeviceCode();
    }
    s.phone = phone;
    linkCode.sendPush = sendPushNotification;
    s.refreshCount = 0;
    try {
      return await linkCode.generate();
    } catch (error) {
      s.code = null;
      linkCode.emitError(error);
      throw error;
    }
  };
  const refreshLinkDeviceCode = async () => {
    const s = linkCode.state;
    if (!s.phone) throw new Error('No phone linking flow is active');
    if (s.inFlight) await s.inFlight;
    linkCode.clearTimer();
    s.code = null;
    try {
      return await linkCode.generate();
    } catch (error) {
      linkCode.emitError(error);
      throw error;
    }
  };
  const cancelLinkDeviceCode = () => {
    const s = linkCode.state;
    s.epoch++;
    linkCode.clearTimer();
    Object.assign(s, { code: null, inFlight: null, phone: null, refreshCount: 0 });
    linkCode.sendPush = true;
  };
  for (const event of ['conn.authenticated', 'conn.logout', 'conn.main_ready']) {
    ev.on(event, cancelLinkDeviceCode);
  }

  const ready = (path, fn) =>
    function guarded(...args) {
      needReady(path);
      return fn(...args);
    };
  const getMyUserLid = () => {
    // UserPrefs.getMeLidUserOrThrow
    if (!me.lid) throw new Error('getMeLidUserOrThrow: me lid user is not defined');
    return me.lid;
  };
  const getMyUserWid = () => me.wid || undefined;

  WPP.conn = {
    getAuthCode: ready('conn.getAuthCode', async () => authCode()),
    // refreshQR.ts: null when authenticated, else Cmd.refreshQR() and the next auth code.
    refreshQR: ready('conn.refreshQR', async () => {
      if (isAuthenticated()) return null;
      const next = ev.waitFor('conn.auth_code_change');
      request('refresh_qr').catch(() => undefined);
      return (await next)[0];
    }),
    genLinkDeviceCodeForPhoneNumber,
    startLinkDeviceCodeForPhoneNumber: ready(
      'conn.startLinkDeviceCodeForPhoneNumber',
      startLinkDeviceCodeForPhoneNumber,
    ),
    refreshLinkDeviceCode: ready('conn.refreshLinkDeviceCode', refreshLinkDeviceCode),
    cancelLinkDeviceCode: ready('conn.cancelLinkDeviceCode', cancelLinkDeviceCode),
    isAuthenticated: ready('conn.isAuthenticated', isAuthenticated),
    isRegistered: ready('conn.isRegistered', () => st.linked && st.registered),
    isMainReady: ready('conn.isMainReady', () => st.mode === 'MAIN'),
    isOnline: ready('conn.isOnline', () => st.online),
    isIdle: ready('conn.isIdle', () => st.socket === 'UNPAIRED_IDLE'), // isIdle.ts
    getStreamData: ready('conn.getStreamData', () => ({ mode: st.mode, info: st.info })),
    getMyUserId: ready('conn.getMyUserId', getMyUserWid),
    getMyUserWid: ready('conn.getMyUserWid', getMyUserWid),
    getMyUserLid: ready('conn.getMyUserLid', getMyUserLid),
    setKeepAlive: ready('conn.setKeepAlive', () => true),
    // logout.ts: Socket.logout(), then true once Cmd 'logout' fired; WhatsApp Web then
    // reloads the page (to a fresh QR).
    logout: ready('conn.logout', async () => {
      await request('logout');
      await tokenStore.remove();
      await msgDb.clear();
      st.linked = st.registered = false;
      ev.emit('conn.logout');
      reloadSoon();
      return true;
    }),
  };

  // --- WPP.chat -------------------------------------------------------------------------------
  // src/chat/defaultSendMessageOptions.ts
  const defaultSendMessageOptions = {
    detectMentioned: true,
    linkPreview: true,
    markIsRead: true,
    waitForAck: true,
    delay: 0,
  };
  const getChat = (chatId) => {
    const w = assertWid(chatId);
    return chatStore.get(w);
  };
  // src/assert/assertChat.ts
  const assertGetChat = (id) => {
    const chat = getChat(id);
    if (!chat) throw new WPPError('chat_not_found', `Chat not found for ${id}`, { id });
    return chat;
  };
  // WhatsApp's findOrCreateLatestChat: the contact's latest chat, the @lid one once the
  // contact migrated; a @c.us id whose LID the page does not know asks the servers first.
  const findOrCreateLatestChat = async (w) => {
    if (!st.linked) return null;
    if (w.server === 'c.us') {
      const lid = lidPn.getCurrentLid(w);
      if (lid) return { chat: chatStore.getOrAdd(lid), created: false };
      try {
        const found = await request('find', { id: w.toString() });
        if (found.pn) lidPn.learn(found.chat, found.pn);
        return { chat: chatStore.getOrAdd(new Wid(found.chat)), created: true };
      } catch (e) {
        return { chat: chatStore.getOrAdd(w), created: true };
      }
    }
    return { chat: chatStore.getOrAdd(w), created: false };
  };
  // find.ts
  const find = async (chatId) => {
    const w = assertWid(chatId);
    const result = await findOrCreateLatestChat(w);
    if (!result || !result.chat || !result.chat.id) {
      throw new Error(`Failed to find or create chat for ${w.toString()}`);
    }
    const chat = chatStore.get(result.chat.id);
    if (!chat) throw new Error(`Chat not found in ChatStore for ${w.toString()}`);
    return chat;
  };
  // generateMessageID.ts: MsgKey {from, to, id, participant, selfDir: 'out'}; `from` is my
  // LID for @lid chats and groups, my phone id otherwise.
  const generateMessageID = async (chat) => {
    let to;
    if (chat instanceof Wid) to = chat;
    else if (chat instanceof ChatModel) to = chat.id;
    else to = assertWid(chat);
    const from = to.isGroup() || to.isLid() ? getMyUserLid() : getMyUserWid();
    const participant = to.isGroup() ? from : undefined;
    return new MsgKey({ from, to, id: randomMessageId(), participant, selfDir: 'out' });
  };
  const presence = (chatId, state) => {
    const chat = assertGetChat(chatId);
    return request('presence', { chat: chat.id.toString(), state });
  };
  const markIsPaused = async (chatId) => {
    await presence(chatId, 'paused');
  };
  // markIsComposing.ts: composing now, paused after `duration` ms when given.
  const markIsComposing = async (chatId, duration) => {
    await presence(chatId, 'composing');
    if (duration) {
      await new Promise((resolve) => setTimeout(resolve, duration));
      await markIsPaused(chatId).catch(() => undefined);
    }
  };
  // markIsRead.ts: {wid, unreadCount}.
  const markIsRead = async (chatId) => {
    const chat = assertGetChat(chatId);
    const unreadCount = chat.unreadCount;
    await request('seen', { chat: chat.id.toString() });
    chat.unreadCount = 0;
    return { wid: chat.id, unreadCount };
  };
  // prepareRawMessage.ts (the parts a text message uses).
  const prepareRawMessage = async (chat, message, options) => {
    options = { ...defaultSendMessageOptions, ...options };
    const fromWid = chat.id.isGroup() || chat.id.isLid() ? getMyUserLid() : getMyUserWid();
    message = {
      t: Math.floor(Date.now() / 1000),
      from: fromWid,
      to: chat.id,
      self: 'out',
      isNewMsg: true,
      local: true,
      ack: 0, // ACK.CLOCK
      ...message,
    };
    if (options.delay) {
      if (message.type == 'chat') await markIsComposing(chat.id);
      await new Promise((resolve) => setTimeout(() => resolve(true), options.delay));
      await markIsPaused(chat.id);
    }
    if (options.messageId) {
      if (typeof options.messageId === 'string') {
        options.messageId = MsgKey.fromString(options.messageId);
      }
      if (!options.messageId.fromMe) {
        throw new WPPError('message_key_is_not_from_me', 'Message key is not from me', {
          messageId: options.messageId.toString(),
        });
      }
      if (!options.messageId.remote.equals(chat.id)) {
        throw new WPPError(
          'message_key_remote_id_is_not_same_of_chat',
          'Message key remote ID is not same of chat',
          { messageId: options.messageId.toString() },
        );
      }
      message.id = options.messageId;
    }
    if (!message.id) message.id = await generateMessageID(chat);
    return message;
  };
  // WhatsApp's addAndSendMsgToChat: [message, Promise<SendMsgResultObject>]. The message is in
  // the chat (chat.new_message) before the server answers; ack 1 when the server accepts.
  // The message is written to the device's store before it goes to the server.
  const addAndSendMsgToChat = (chat, raw) => {
    const msg = new MsgModel(raw);
    touchChat(chat, msg);
    addMessage(msg);
    const participant = msg.id.participant ? msg.id.participant.toString() : undefined;
    const args = { chat: chat.id.toString(), body: String(raw.body), id: msg.id.id, participant };
    const record = { fromMe: true, remote: args.chat, id: args.id, participant, type: msg.type,
      from: msg.from.toString(), to: msg.to.toString(), body: args.body, t: msg.t, ack: 0 }; // prettier-ignore
    const stored = msgDb.put(record).catch((err) => console.error('send not stored', err));
    const result = stored.then(() => request('send', args)).then((r) => {
      if (r.result === 'OK') setAck(msg, 1);
      return { messageSendResult: r.result }; // src/whatsapp/types.ts SendMsgResultObject
    });
    return [msg, result];
  };
  // sendRawMessage.ts
  const sendRawMessage = async (chatId, rawMessage, options = {}) => {
    options = { ...defaultSendMessageOptions, ...options };
    const chat = await find(chatId); // assertFindChat
    if (!chat) throw new WPPError('chat_not_found', `Chat not found for ${chatId}`);
    rawMessage = await prepareRawMessage(chat, rawMessage, options);
    if (options.markIsRead) await markIsRead(chat.id).catch(() => null);
    const [message, result] = addAndSendMsgToChat(chat, rawMessage);
    let sendMsgResult = null;
    if (options.waitForAck) sendMsgResult = await result;
    else result.catch(() => undefined);
    return {
      id: message.id.toString(),
      ack: message.ack,
      ...(message.from && { from: message.from.toString() }),
      to: chat.id.toString(),
      sendMsgResult,
    };
  };
  // src/chat/functions/list.ts: ChatStore's models (a copy), filtered, then a window of
  // `count` from the chat `id` (after it, or before it). Labels, communities and newsletters
  // are not simulated: asking for them fails loudly rather than answering wrongly.
  const list = async (options = {}) => {
    for (const unsupported of ['onlyCommunities', 'onlyNewsletter', 'withLabels']) {
      if (options[unsupported]) throw new Error(`WPP.chat.list ${unsupported}: not simulated`);
    }
    const count = options.count == null ? Infinity : options.count;
    const direction = options.direction === 'before' ? 'before' : 'after';
    let models = chatStore.getModelsArray().slice();
    if (options.onlyUsers) models = models.filter((c) => c.isUser);
    if (options.onlyGroups) models = models.filter((c) => c.id.isGroup());
    if (options.onlyWithUnreadMessage) models = models.filter((c) => c.hasUnread);
    if (options.onlyArchived) models = models.filter((c) => c.archive);
    const indexChat = options.id ? getChat(options.id) : null;
    const startIndex = indexChat ? models.indexOf(indexChat) : 0;
    if (direction === 'before') {
      const fixStartIndex = startIndex - count < 0 ? 0 : startIndex - count;
      const fixEndIndex = fixStartIndex + count >= startIndex ? startIndex : fixStartIndex + count;
      return models.slice(fixStartIndex, fixEndIndex);
    }
    return models.slice(startIndex, startIndex + count);
  };
  // msgFindByDirection (src/whatsapp/functions/msgFindByDirection.ts, WhatsApp's
  // WAWebDBMessageFindLocal): the `count` stored messages of the anchor's chat just before (or
  // after) the anchor, without it, oldest first; status 404 when the anchor is not stored.
  const msgFindByDirection = ({ anchor, count, direction }) => {
    const inChat = [...msgStore.values()]
      .filter((m) => m.id.remote.equals(anchor.remote))
      .sort((a, b) => Number(a.t) - Number(b.t));
    const at = inChat.findIndex((m) => m.id.toString() === anchor.toString());
    if (at < 0) return { messages: [], status: 404 };
    const messages =
      direction === 'after'
        ? inChat.slice(at + 1, at + 1 + count)
        : inChat.slice(Math.max(0, at - count), at);
    return { messages, status: 200 };
  };
  // src/chat/functions/getMessages.ts on WhatsApp Web without msgFindQuery (the "new API"):
  // anchored at options.id or the chat's lastReceivedKey, which is appended itself when no id
  // was given (so `count` includes it); -1 is every message (multi-device).
  const getMessages = async (chatId, options = {}) => {
    if (options.media !== undefined || options.includeCallMessages) {
      throw new Error('WPP.chat.getMessages media and call messages: not simulated');
    }
    const chat = assertGetChat(chatId);
    let count = options.count || 20;
    const direction = options.direction === 'after' ? 'after' : 'before';
    const id = options.id || (chat.lastReceivedKey && chat.lastReceivedKey.toString());
    if (options.onlyUnread) {
      if (!chat.hasUnread) return [];
      const unreadCount = chat.unreadCount < 0 ? 2 : chat.unreadCount;
      count = count < 0 ? unreadCount : Math.min(count, unreadCount);
    }
    if (count === -1) count = Infinity;
    if (!options.id && id) count--;
    if (!id) return [];
    const msgs = msgFindByDirection({ anchor: MsgKey.fromString(id), count, direction }).messages;
    if (!options.id) {
      const last = msgStore.get(id);
      if (last) msgs.push(last);
    }
    if (options.onlyUnread) for (const m of msgs) m.isNewMsg = true;
    return msgs;
  };
  WPP.chat = {
    list: ready('chat.list', list),
    getMessages: ready('chat.getMessages', getMessages),
    find: ready('chat.find', find),
    get: ready('chat.get', getChat),
    generateMessageID: ready('chat.generateMessageID', generateMessageID),
    markIsComposing: ready('chat.markIsComposing', markIsComposing),
    markIsPaused: ready('chat.markIsPaused', markIsPaused),
    markIsRead: ready('chat.markIsRead', markIsRead),
    // sendTextMessage.ts: {body, type: 'chat', ...} through sendRawMessage.
    sendTextMessage: ready('chat.sendTextMessage', async (chatId, content, options = {}) => {
      options = { ...defaultSendMessageOptions, ...options };
      const raw = { body: content, type: 'chat', subtype: null, urlText: null, urlNumber: null };
      return sendRawMessage(chatId, raw, options);
    }),
  };

  // --- WPP.contact ----------------------------------------------------------------------------
  const existsCache = new Map();
  const buildResultFromContact = (contact, w) => ({
    wid: w,
    biz: !!contact.isBusiness,
    lid: lidPn.getCurrentLid(w) || undefined,
  });
  // queryWidExists.ts fetchFromServer: a server or network error is null, like "no result".
  const fetchFromServer = async (w) => {
    try {
      const native = await request('exists', { id: w.toString() });
      if (!native) return null;
      if (native.lid) lidPn.learn(native.lid, native.wid);
      return { wid: new Wid(native.wid), biz: !!native.biz, lid: lidPn.getCurrentLid(w) };
    } catch (e) {
      return null;
    }
  };
  // queryWidExists.ts: ContactStore, then a promise cache (5 min for hits, 15 s for misses).
  const queryWidExists = async (contactId) => {
    const w = assertWid(contactId);
    const counterpart = w.isLid() ? lidPn.getPhoneNumber(w) : lidPn.getCurrentLid(w);
    const contact =
      contactStore.get(w.toString()) || (counterpart && contactStore.get(counterpart.toString()));
    if (contact) return buildResultFromContact(contact, w);
    const key = `+${w.toString()}`;
    if (existsCache.has(key)) return existsCache.get(key);
    const promise = fetchFromServer(w).then((result) => {
      const ttl_s = result ? config.exists_hit_ttl_s : config.exists_miss_ttl_s;
      setTimeout(() => existsCache.delete(key), ttl_s * 1000);
      return result;
    });
    existsCache.set(key, promise);
    return promise;
  };
  const plainWid = (w) => (w ? { id: w.user, server: w.server, _serialized: w.toString() } : undefined);
  // getPnLidEntry.ts: @c.us and @lid only; for a @lid the phone comes from lidPnCache only.
  const getPnLidEntry = async (contactId) => {
    const w = assertWid(contactId);
    let lid;
    let pn;
    if (w.server !== 'c.us' && w.server !== 'lid') {
      throw new WPPError(
        'invalid_wid',
        `Invalid WID value for ${w} - getPnLidEntry only supports @c.us and @lid.`,
        { id: w },
      );
    }
    if (w.isLid()) {
      lid = w;
      pn = lidPn.getPhoneNumber(w) || undefined;
    } else {
      pn = w;
      lid = lidPn.getCurrentLid(w) || undefined;
      if (!lid) {
        const queryResult = await queryWidExists(w);
        if (queryResult && queryResult.lid) lid = queryResult.lid;
      }
    }
    const model = contactStore.get((lid || pn || w).toString());
    const contact = model && {
      name: model.name,
      shortName: model.shortName,
      pushname: model.pushname,
      type: model.type,
      verifiedName: undefined,
      isBusiness: model.isBusiness,
      isEnterprise: false,
    };
    return { lid: plainWid(lid), phoneNumber: plainWid(pn), contact };
  };
  WPP.contact = {
    queryWidExists: ready('contact.queryWidExists', queryWidExists),
    queryExists: ready('contact.queryExists', queryWidExists), // queryExists.ts: an alias
    getPnLidEntry: ready('contact.getPnLidEntry', getPnLidEntry),
  };

  // --- WPP.whatsapp: the models WA-JS exposes (src/whatsapp/models/SocketModel.ts, ...) ----
  const Socket = {
    get state() {
      return st.socket;
    },
    on: (name, fn) => socketModel.on(name, fn),
    off: (name, fn) => socketModel.off(name, fn),
    // SocketModel.takeover(): use this window again after "open in another window".
    takeover: () => {
      needReady('whatsapp.Socket.takeover');
      if (!replaced) return request('takeover');
      replaced = false;
      connect(true);
      return Promise.resolve();
    },
    logout: () => {
      WPP.conn.logout().catch(() => undefined);
    },
  };
  WPP.whatsapp = {
    Socket,
    MsgKey,
    ChatModel,
    MsgModel,
    WidFactory: { createWid: widFactoryCreate, createWidFromWidLike },
  };
  WPP.util = { WPPError, createWid };
})();
