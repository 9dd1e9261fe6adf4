// @ts-check
// waops page bridge, messages in (after core.js): every new conversation message forwarded as
// `chat.new_message`, ack changes as `chat.msg_ack_change`, and `catchUp` over the page's store.
(() => {
  'use strict';
  const bridge = window.__waopsBridge;
  if (window.__waops || !bridge) return;
  const WPP = window.WPP;
  const { config, delivered, ours, queued, emit, idString, within, serverOf, myId } = bridge;

  /** @typedef {import('@wppconnect/wa-js').whatsapp.MsgModel} MsgModel */

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
      // MsgModel.ts l.80 filehash (base64 SHA-256 of the plain file), l.90 isViewOnce.
      filehash: isMedia ? stringOrNull(m.filehash) : null,
      is_view_once: isMedia && !!m.isViewOnce,
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

  bridge.catchUp = catchUp;
})();
