  // wpp-fake, part 6: WPP.chat (find, send, list, getMessages).
  // (The parts are the body of one function, joined in name order by simulator/bundle.py.)
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
