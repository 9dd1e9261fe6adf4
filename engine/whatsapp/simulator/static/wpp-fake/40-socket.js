  // wpp-fake, part 4: the socket to the simulator and what its pushes do.
  // (The parts are the body of one function, joined in name order by simulator/bundle.py.)
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
  // MsgModel.ts l.77-90: filehash is the base64 SHA-256 downloadMedia looks the file up by.
  const MEDIA_FIELDS = ['caption', 'mimetype', 'duration', 'size', 'filename', 'pageCount',
    'filehash', 'isViewOnce']; // prettier-ignore
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
