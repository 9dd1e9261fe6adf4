// waops WhatsApp Web simulator: a stand-in for @wppconnect/wa-js 4.6.0 (window.WPP).
//
// It implements only the subset waops uses, with WA-JS's names, payload shapes, rules and
// errors, each taken from the WA-JS 4.6.0 source (src/... paths cited beside them) and, where
// WA-JS calls into WhatsApp Web itself, from WhatsApp Web's module named in the comment.
// It never follows our driver. It talks to the simulator server over a same-origin WebSocket:
// requests ("op") are what WhatsApp Web would ask its servers, pushes are what they send.
//
// It is split in parts (static/wpp-fake/*.js) that engine/whatsapp/simulator/bundle.py joins in
// name order into the one script the driver injects: they are the body of the function opened
// below and closed at the end of the last part, so they share its names.
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
