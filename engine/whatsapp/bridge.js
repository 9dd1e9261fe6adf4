// waops page bridge: injected after WA-JS on every page load. Once WPP is ready it subscribes
// to the WA-JS events the driver needs and forwards them, already serialised and filtered,
// through the single binding `__waopsEmit` that the driver exposes once per browser context.
(() => {
  'use strict';
  if (window.__waops || !window.WPP || !window.WPP.loader) return;

  const LIMIT = 2000;
  const boundedSet = () => {
    const items = new Set();
    return {
      add(v) {
        items.add(v);
        if (items.size > LIMIT) items.delete(items.values().next().value);
      },
      has: (v) => items.has(v),
    };
  };
  const delivered = boundedSet(); // inbound ids already forwarded
  const ours = boundedSet(); // ids (raw and serialised) of messages sent through our send

  const emit = (event, data) => {
    try {
      const pending = window.__waopsEmit({ event, data: data === undefined ? null : data });
      if (pending && pending.catch) pending.catch(() => {});
    } catch (e) {
      // The binding is gone only while the context closes; nothing to forward to.
    }
  };
  const str = (v) => (v == null ? null : typeof v === 'string' ? v : v._serialized || String(v));

  const serialise = (m) => {
    const id = m.id || {};
    const serial = str(id);
    if (!serial) return null;
    const remote = str(id.remote) || str(m.from);
    if (m.isStatusV3 || remote === 'status@broadcast' || str(m.from) === 'status@broadcast') {
      return null;
    }
    if (m.type === 'ciphertext') return null; // the decrypted copy follows with the same id
    if (delivered.has(serial)) return null;
    const fromMe = !!id.fromMe;
    if (fromMe && (ours.has(serial) || ours.has(id.id))) return null;
    delivered.add(serial);
    let me = null;
    try {
      me = str(WPP.conn.getMyUserId());
    } catch (e) {
      me = null;
    }
    return {
      id: serial,
      chat_id: remote,
      sender_id: fromMe ? me || str(m.from) : str(m.author) || str(m.from),
      from_me: fromMe,
      body: typeof m.body === 'string' ? m.body : '',
      type: m.type || 'chat',
      timestamp: Number(m.t) || 0,
      notify_name: m.notifyName || null,
      is_group: !!m.isGroupMsg || (remote || '').endsWith('@g.us'),
      quoted_id: str(m.quotedMsgId),
    };
  };

  let lastCode;
  let lastStream = '';
  let logoutReason = null;
  const forwardCode = (auth) => {
    const code = auth ? auth.fullCode || null : null;
    if (code === lastCode) return;
    lastCode = code;
    emit('conn.auth_code_change', code);
  };
  const forwardStream = () => {
    let data;
    try {
      data = WPP.conn.getStreamData();
    } catch (e) {
      return;
    }
    const key = `${data.mode}/${data.info}`;
    if (key === lastStream) return;
    lastStream = key;
    emit('conn.stream', { mode: String(data.mode), info: String(data.info) });
  };

  const arm = () => {
    WPP.on('conn.auth_code_change', forwardCode);
    WPP.on('conn.link_code_change', (c) => emit('conn.link_code_change', str(c && c.code ? c.code : c)));
    WPP.on('conn.authenticated', () => emit('conn.authenticated'));
    WPP.on('conn.logout_reason', (r) => {
      logoutReason = r == null ? null : String(r);
    });
    WPP.on('conn.logout', () => {
      emit('conn.logout', logoutReason);
      logoutReason = null;
    });
    WPP.on('conn.stream_mode_changed', forwardStream);
    WPP.on('conn.stream_info_changed', forwardStream);
    WPP.on('conn.online', (online) => emit('conn.online', !!online));
    WPP.on('chat.new_message', (m) => {
      const msg = serialise(m);
      if (msg) emit('chat.new_message', msg);
    });
    WPP.on('chat.msg_ack_change', (e) => {
      emit('chat.msg_ack_change', { ack: Number(e.ack), ids: (e.ids || []).map(str) });
    });
    emit('bridge.ready');
    forwardStream();
    Promise.resolve(WPP.conn.getAuthCode())
      .then(forwardCode)
      .catch(() => {});
  };

  const randomId = () => {
    const bytes = crypto.getRandomValues(new Uint8Array(10));
    return '3EB0' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
  };

  // Entry points for page.evaluate: they resolve to {ok, value} or {ok: false, code, message}
  // so that the driver can tell WhatsApp's refusals from a broken page.
  const guard = async (fn) => {
    try {
      return { ok: true, value: await fn() };
    } catch (e) {
      return { ok: false, code: 'error', message: String((e && e.message) || e) };
    }
  };
  window.__waops = {
    status: () =>
      guard(() => {
        const s = WPP.conn.getStreamData();
        return {
          authenticated: !!WPP.conn.isAuthenticated(),
          registered: !!WPP.conn.isRegistered(),
          mode: String(s.mode),
          info: String(s.info),
          online: !!WPP.conn.isOnline(),
          me: (() => {
            try {
              const wid = WPP.conn.getMyUserId();
              return wid ? str(wid) : null;
            } catch (e) {
              return null;
            }
          })(),
        };
      }),
    authCode: () => guard(async () => ((await WPP.conn.getAuthCode()) || {}).fullCode || null),
    refreshQr: () => guard(async () => WPP.conn.refreshQR()),
    pairingCode: (phone) => guard(async () => String(await WPP.conn.genLinkDeviceCodeForPhoneNumber(phone))),
    logout: () => guard(async () => !!(await WPP.conn.logout())),
    sendText: async ({ chatId, text, typingMs }) => {
      const refuse = (code, message) => ({ ok: false, code, message });
      if (!WPP.conn.isAuthenticated() && !WPP.conn.isRegistered()) {
        return refuse('not_logged_in', 'session is not linked');
      }
      const mode = String(WPP.conn.getStreamData().mode);
      if (mode === 'TOS_BLOCK' || mode === 'SMB_TOS_BLOCK') return refuse('banned', `number is blocked (${mode})`);
      if (mode !== 'MAIN' || !WPP.conn.isOnline()) return refuse('offline', `not connected (${mode})`);
      const messageId = randomId();
      ours.add(messageId);
      return guard(async () => {
        const r = await WPP.chat.sendTextMessage(chatId, text, {
          createChat: true,
          delay: typingMs,
          messageId,
        });
        ours.add(str(r.id));
        return { id: str(r.id), ack: Number(r.ack), to: str(r.to) || chatId };
      });
    },
    exists: (number) =>
      guard(async () => {
        const r = await WPP.contact.queryWidExists(number);
        return r && r.wid ? str(r.wid) : null;
      }),
    alive: () => !!(window.WPP && WPP.isReady),
  };

  WPP.loader.onReady(arm);
})();
