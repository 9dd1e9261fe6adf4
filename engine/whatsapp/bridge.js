// @ts-check
// waops page bridge: injected after WA-JS on every page load (an init script, so before
// WhatsApp Web's own code). It subscribes to the WA-JS events the driver needs at once, not only
// after ready (WPP.on works from injection; chat.new_message and the conn events are registered
// at loader.onInjected in WA-JS), and forwards them, serialised and filtered, through the single
// binding `__waopsEmit` the driver exposes per browser context. Every WA-JS behaviour relied on
// is cited by its file in the WA-JS 4.6.0 source (src/...); `make typecheck-js` checks the
// calls against the package's .d.ts files.
(() => {
  'use strict';
  if (window.__waops || !window.WPP || !window.WPP.loader) return;
  const WPP = window.WPP;
  /** @type {import('./bridge.globals').BridgeConfig} */
  const config = window.__waopsConfig || {
    conversationTypes: ['chat'],
    mediaTypes: [],
    peerLookupMs: 3000,
  };

  /** @typedef {import('@wppconnect/wa-js').whatsapp.MsgModel} MsgModel */

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

  /** @param {string} event @param {unknown} [data] */
  const emit = (event, data) => {
    try {
      window.__waopsEmit({ event, data: data === undefined ? null : data }).catch(() => {});
    } catch (e) {
      // The binding is gone only while the context closes; nothing to forward to.
    }
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

  // --- QR -------------------------------------------------------------------------------------
  // src/conn/functions/getAuthCode.ts: fullCode = [ref, staticKeyPair, identityKeyPair,
  // secretKey].join(','), four fields. Real WhatsApp Web (its WAWebLinkDeviceQrcode.react module)
  // renders a fifth one, WAWebCompanionRegClientUtils.DEVICE_PLATFORM, and whatsapp-web.js
  // (Client.js), Baileys (PR #2460), whatsmeow (PR #1110) and whatsapp-rust (PR #593) now append
  // it too; primary phones were reported to start rejecting the 4-field form. We append it when
  // WhatsApp Web's own module tells it, and keep WA-JS's text otherwise (off WhatsApp Web).
  const devicePlatform = () => {
    try {
      const utils = window.require && window.require('WAWebCompanionRegClientUtils');
      const platform = utils && utils.DEVICE_PLATFORM;
      return platform == null || platform === '' ? null : String(platform);
    } catch (e) {
      return null;
    }
  };
  /** @param {{fullCode?: string} | null | undefined} auth */
  const qrText = (auth) => {
    if (!auth || !auth.fullCode) return null;
    const platform = devicePlatform();
    return platform && auth.fullCode.split(',').length === 4
      ? `${auth.fullCode},${platform}`
      : auth.fullCode;
  };

  /** @type {string | null | undefined} */
  let lastCode;
  /** @param {{fullCode?: string} | null | undefined} auth */
  const forwardCode = (auth) => {
    const code = qrText(auth);
    if (code === lastCode) return;
    lastCode = code;
    emit('conn.auth_code_change', code);
  };
  let lastStream = '';
  const forwardStream = () => {
    let c;
    try {
      c = connection();
    } catch (e) {
      return; // the Stream model is not loaded yet
    }
    const key = `${c.mode}/${c.info}`;
    if (key === lastStream) return;
    lastStream = key;
    emit('conn.stream', { mode: c.mode, info: c.info });
  };

  // --- inbound messages -------------------------------------------------------------------
  const conversation = new Set(config.conversationTypes);
  const media = new Set(config.mediaTypes);
  // People (by phone or LID) and groups; status@broadcast, broadcast lists (@broadcast) and
  // newsletters (@newsletter) arrive on the same event and are not conversations.
  const CHAT_SERVERS = new Set(['c.us', 'lid', 'g.us']);

  /** @param {unknown} v */
  const numberOrNull = (v) => (v == null || v === '' || !Number.isFinite(Number(v)) ? null : Number(v));
  /** @param {unknown} v */
  const stringOrNull = (v) => (typeof v === 'string' && v !== '' ? v : null);

  /**
   * The phone and LID ids of a 1:1 chat. src/contact/functions/getPnLidEntry.ts: a @lid gets its
   * phone from the local lidPnCache only, a @c.us its LID from the cache or a server query; a
   * failure or a slow answer only leaves the field unknown, it never drops the message.
   * @param {string} chat
   */
  const lookupPeer = async (chat) => {
    const known = {
      phone: serverOf(chat) === 'c.us' ? chat : null,
      lid: serverOf(chat) === 'lid' ? chat : null,
    };
    try {
      const entry = await within(WPP.contact.getPnLidEntry(chat), config.peerLookupMs, 'slow');
      return { phone: idString(entry.phoneNumber) || known.phone, lid: idString(entry.lid) || known.lid };
    } catch (e) {
      return known;
    }
  };

  /** The chat of a conversation message, or null for what is not one. @param {MsgModel} m */
  const chatOf = (m) => {
    if (!m.id) return null;
    // Notifications (isNotification: e2e_notification, notification_template, call_log, gp2...),
    // protocol, revoked and ciphertext are not conversation types. src/chat/events/
    // registerNewMessageEvent.ts fires a ciphertext again once decrypted (same id, real type), so
    // a ciphertext is not marked delivered.
    if (m.isNotification || !conversation.has(String(m.type || ''))) return null;
    const chat = idString(m.id.remote) || idString(m.from);
    return !chat || !CHAT_SERVERS.has(serverOf(chat)) || m.isStatusV3 ? null : chat;
  };

  /** What a person wrote. For media `body` is a base64 thumbnail (MsgModel.ts `caption`). */
  const textOf = (/** @type {MsgModel} */ m, /** @type {string} */ type) => {
    if (media.has(type)) return typeof m.caption === 'string' ? m.caption : '';
    // A location's body is its map thumbnail as well; `loc` is its "name\naddress" text.
    if (type === 'location') return stringOrNull(m.loc) || stringOrNull(m.comment) || '';
    return typeof m.body === 'string' ? m.body : '';
  };

  /**
   * The message as the driver's InboundMessage, or null when it is not a conversation (shared by
   * chat.new_message and catchUp). `lookup` finds the peer's ids (catchUp asks once per chat).
   * @param {MsgModel} m @param {(chat: string) => ReturnType<typeof lookupPeer>} lookup
   */
  const serialise = async (m, lookup) => {
    const key = m.id;
    const serial = key ? idString(key) : null;
    const chat = chatOf(m);
    if (!key || !serial || !chat) return null;
    const type = String(m.type || '');
    const fromMe = !!key.fromMe;
    const isGroup = serverOf(chat) === 'g.us';
    const peer = isGroup ? { phone: null, lid: null } : await lookup(chat);
    const isMedia = media.has(type);
    return {
      id: serial,
      key_id: String(key.id || ''),
      chat_id: chat,
      sender_id: fromMe ? myId() || idString(m.from) : idString(m.author) || idString(m.from),
      from_me: fromMe,
      body: textOf(m, type),
      type,
      timestamp: Number(m.t) || 0,
      notify_name: stringOrNull(m.notifyName),
      is_group: isGroup,
      quoted_id: idString(m.quotedMsgId),
      peer_phone: peer.phone,
      peer_lid: peer.lid,
      mimetype: isMedia ? stringOrNull(m.mimetype) : null,
      filename: isMedia ? stringOrNull(m.filename) : null,
      size: isMedia ? numberOrNull(m.size) : null,
      duration: isMedia ? numberOrNull(m.duration) : null,
    };
  };

  // Messages are forwarded in arrival order even though the peer look-up is asynchronous.
  let inbound = Promise.resolve();
  WPP.on('chat.new_message', (m) => {
    const key = m && m.id;
    if (key && key.fromMe && ours.has(key.id)) {
      queued.add(key.id); // the echo of our own send: it reached MsgStore (sendRawMessage.ts)
      return;
    }
    const serial = key ? idString(key) : null;
    if (!serial || !chatOf(m) || delivered.has(serial)) return;
    delivered.add(serial); // at once, so that a catchUp running now leaves it to this path
    inbound = inbound
      .then(() => serialise(m, lookupPeer))
      .then((msg) => {
        if (msg) emit('chat.new_message', msg);
      })
      .catch(() => {});
  });
  // src/chat/events/registerAckMessageEvent.ts: ack 1 and ack >= 2 only, after full ready; the
  // keys may name the @lid form of the chat, so the driver matches them by their key id.
  WPP.on('chat.msg_ack_change', (e) => {
    const ids = (e.ids || []).map(idString).filter((id) => id !== null);
    emit('chat.msg_ack_change', { ack: Number(e.ack), ids });
  });

  // --- connection and pairing events ------------------------------------------------------
  /** @type {string | null} */
  let logoutReason = null;
  WPP.on('conn.auth_code_change', forwardCode); // registerAuthCodeChangeEvent.ts
  WPP.on('conn.qrcode_idle', () => emit('conn.qrcode_idle')); // registerQRCodeIdleEvent.ts
  // src/conn/functions/linkDeviceCodeLifecycle.ts: a string code per (re)generation, expiry
  // after the automatic refreshes, an Error on failure.
  WPP.on('conn.link_code_change', (code) => emit('conn.link_code_change', String(code)));
  WPP.on('conn.link_code_expired', () => emit('conn.link_code_expired'));
  WPP.on('conn.link_code_error', (error) => emit('conn.link_code_error', messageOf(error)));
  WPP.on('conn.authenticated', () => emit('conn.authenticated'));
  WPP.on('conn.logout_reason', (reason) => {
    logoutReason = reason == null ? null : String(reason);
  });
  WPP.on('conn.logout', () => {
    emit('conn.logout', logoutReason);
    logoutReason = null;
  });
  WPP.on('conn.stream_mode_changed', forwardStream); // registerStreamEvent.ts
  WPP.on('conn.stream_info_changed', forwardStream);
  WPP.on('conn.online', (online) => emit('conn.online', !!online));

  // src/loader/index.ts: onReady listens for 'loader.ready', which fires once per page load.
  const onReady = () => {
    emit('bridge.ready');
    forwardStream();
    WPP.conn.getAuthCode().then(forwardCode, () => {});
  };
  if (WPP.isReady) onReady();
  else WPP.loader.onReady(onReady);

  // --- entry points for page.evaluate -----------------------------------------------------
  // Each resolves to {ok: true, value} or {ok: false, code, message} so the driver tells
  // WhatsApp's refusals (code = the WPPError code or ours) from a broken page (a throw).
  /** @template T @param {() => Promise<T>} fn */
  const guard = async (fn) => {
    try {
      return { ok: true, value: await fn() };
    } catch (e) {
      return { ok: false, code: codeOf(e) || 'error', message: messageOf(e) };
    }
  };

  /** @param {{chatId: string, text: string, messageId: string, keyId: string, delay: number}} arg */
  const sendText = async ({ chatId, text, messageId, keyId, delay }) => {
    try {
      assertConnected();
    } catch (e) {
      return { ok: false, code: codeOf(e), message: messageOf(e) };
    }
    ours.add(keyId); // again: the page may have been reloaded since prepareSend
    try {
      // src/chat/functions/sendTextMessage.ts -> sendRawMessage.ts; `createChat` is deprecated.
      const r = await WPP.chat.sendTextMessage(chatId, text, { messageId, delay, waitForAck: true });
      // src/chat/types.ts SendMessageReturn: sendMsgResult is resolved already (null without
      // waitForAck); awaiting it also accepts an older promise.
      const result = await r.sendMsgResult;
      return {
        ok: true,
        value: {
          id: r.id,
          ack: Number(r.ack),
          to: r.to || chatId,
          result: result ? String(result.messageSendResult) : null,
        },
      };
    } catch (e) {
      // WA-JS's own checks throw WPPErrors with a code (chat_not_found, message_key_*, ...), all
      // before addAndSendMsgToChat (sendRawMessage.ts, prepareRawMessage.ts). Anything else, or
      // an error after our echo reached MsgStore, leaves the outcome unknown.
      const code = codeOf(e);
      const refused = code !== null && !queued.has(keyId);
      return { ok: false, code: refused ? 'refused' : 'unknown', wpp: code, message: messageOf(e) };
    }
  };

  /**
   * What the page's store holds that other people wrote since `sinceS` (epoch seconds), so that
   * a restart catches up on messages the page received (and acknowledged to WhatsApp, which
   * never sends them again) that never reached the driver. WhatsApp Web keeps them in its
   * IndexedDB: WA-JS reads them through msgFindByDirection (@whatsapp WAWebDBMessageFindLocal).
   * Bounded by `chats` (the most recent ones), `perChat` messages each and `deadlineMs`.
   * @param {{sinceS: number, chats: number, perChat: number, deadlineMs: number}} arg
   */
  const catchUp = async ({ sinceS, chats, perChat, deadlineMs }) => {
    const until = performance.now() + deadlineMs;
    // src/chat/functions/list.ts: a copy of ChatStore's models; ignoreGroupMetadata skips a
    // GroupMetadataStore.find per group. ChatModel.t is the chat's last activity (ChatModel.ts).
    const all = await WPP.chat.list({ ignoreGroupMetadata: true });
    const recent = all
      .filter((c) => Number(c.t) >= sinceS && CHAT_SERVERS.has(serverOf(idString(c.id) || '')))
      .sort((a, b) => Number(b.t) - Number(a.t));
    let complete = recent.length <= chats;
    /** @type {unknown[]} */
    const messages = [];
    /** @type {(string | null)[]} */
    const newest = [];
    for (const chat of recent.slice(0, chats)) {
      if (performance.now() > until) {
        complete = false;
        break;
      }
      // src/chat/functions/getMessages.ts: the `count` newest messages of the chat, up to and
      // including chat.lastReceivedKey (its newest, whoever wrote it, notifications included),
      // as MsgModels of MsgStore although typed RawMessage.
      const models = /** @type {MsgModel[]} */ (
        /** @type {unknown} */ (await WPP.chat.getMessages(chat.id, { count: perChat }))
      );
      // The chat's newest conversation message, ours included (by `t`, the later one on a tie).
      const talk = models.filter((m) => chatOf(m) !== null);
      const last = talk.reduce((a, m) => (a && Number(a.t) > Number(m.t) ? a : m), talk[0]);
      newest.push(last ? idString(last.id) : null);
      if (models.length >= perChat && models.every((m) => Number(m.t) >= sinceS)) complete = false;
      /** @type {Map<string, ReturnType<typeof lookupPeer>>} */
      const peers = new Map();
      /** @param {string} id */
      const lookup = (id) => {
        if (!peers.has(id)) peers.set(id, lookupPeer(id));
        return /** @type {ReturnType<typeof lookupPeer>} */ (peers.get(id));
      };
      for (const m of models) {
        if (!m.id || m.id.fromMe || Number(m.t) < sinceS || delivered.has(idString(m.id) || '')) {
          continue; // ours, too old, or forwarded by this page already (chat.new_message)
        }
        const msg = await serialise(m, lookup);
        if (msg) messages.push(msg);
      }
    }
    return { messages, newest, complete };
  };

  window.__waops = {
    status: () =>
      guard(async () => {
        const c = connection();
        return {
          authenticated: !!WPP.conn.isAuthenticated(),
          registered: !!WPP.conn.isRegistered(),
          mode: c.mode,
          info: c.info,
          online: c.online,
          me: myId(),
        };
      }),
    authCode: () => guard(async () => qrText(await WPP.conn.getAuthCode())),
    // src/conn/functions/refreshQR.ts waits for the next conn.auth_code_change without a limit.
    refreshQr: (ms) => guard(async () => qrText(await within(WPP.conn.refreshQR(), ms, 'qr_not_refreshed'))),
    startLinkCode: (phone) =>
      guard(async () => String(await WPP.conn.startLinkDeviceCodeForPhoneNumber(String(phone)))),
    cancelLinkCode: () =>
      guard(async () => {
        WPP.conn.cancelLinkDeviceCode();
        return true;
      }),
    takeOver: (ms) =>
      guard(async () => {
        const mode = String(WPP.conn.getStreamData().mode);
        if (mode !== 'CONFLICT') throw fail('not_in_conflict', `the stream is ${mode}, not CONFLICT`);
        // src/whatsapp/models/SocketModel.ts takeover(): "use here"; the stream events report
        // MAIN afterwards. It is not awaited past `ms`: its promise may last as long as the socket.
        const pending = Promise.resolve(WPP.whatsapp.Socket.takeover());
        await within(pending, ms, 'pending').catch((e) => {
          if (codeOf(e) !== 'pending') throw e;
        });
        return true;
      }),
    // src/conn/functions/logout.ts: Socket.logout(), then waits for Cmd 'logout'; WhatsApp Web
    // then navigates away, which may destroy this context before the promise settles.
    logout: () => guard(async () => !!(await WPP.conn.logout())),
    prepareSend: (chatId) =>
      guard(async () => {
        assertConnected();
        // src/chat/functions/find.ts: findOrCreateLatestChat may give the contact's @lid chat
        // for a @c.us id. generateMessageID.ts: MsgKey {fromMe: true, remote: chat.id, id};
        // prepareRawMessage.ts accepts no other key (message_key_is_not_from_me,
        // message_key_remote_id_is_not_same_of_chat).
        const chat = await WPP.chat.find(String(chatId));
        const key = await WPP.chat.generateMessageID(chat);
        ours.add(key.id);
        return { chat: chat.id.toString(), key: key.toString(), keyId: key.id };
      }),
    sendText,
    catchUp: (arg) => guard(() => catchUp(arg)),
    // src/contact/functions/queryWidExists.ts: null also on a server or network error (and that
    // miss is cached 15 s), so the driver trusts a null only while connected.
    exists: (number) =>
      guard(async () => {
        const r = await WPP.contact.queryWidExists(String(number));
        return {
          wid: r ? idString(r.wid) : null,
          lid: r && r.lid ? idString(r.lid) : null,
          connected: isConnected(),
        };
      }),
    resolve: (id) =>
      guard(async () => {
        const entry = await WPP.contact.getPnLidEntry(String(id));
        return { phone: idString(entry.phoneNumber), lid: idString(entry.lid) };
      }),
    // True while WA-JS is ready, or while this document is younger than `graceMs`: after a
    // reload WhatsApp Web takes tens of seconds before WA-JS is ready again.
    alive: (graceMs) => !!WPP.isReady || performance.now() < Number(graceMs),
  };
})();
