  // wpp-fake, part 2: WhatsApp Web's models and stores (MsgModel, ChatModel, MsgStore).
  // (The parts are the body of one function, joined in name order by simulator/bundle.py.)
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
    'filehash', 'isCaptionByUser',
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
