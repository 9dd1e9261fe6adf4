  // wpp-fake, part 3: the connection state, the loader (window.WPP) and IndexedDB.
  // (The parts are the body of one function, joined in name order by simulator/bundle.py.)
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
