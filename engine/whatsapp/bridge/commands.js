// @ts-check
// waops page bridge, commands (last): `window.__waops`, the entry points the driver calls with
// page.evaluate. Setting it also marks the bridge as started on this page.
(() => {
  'use strict';
  const bridge = window.__waopsBridge;
  if (window.__waops || !bridge) return;
  const WPP = window.WPP;
  const { ours, queued, idString, fail, codeOf, messageOf, within } = bridge;
  const { connection, assertConnected, isConnected, myId, catchUp, qrText } = bridge;

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
    // bridge/media.js: downloads and staged files.
    mediaOpen: (arg) => guard(() => bridge.media.mediaOpen(arg)),
    mediaRead: (arg) => guard(() => bridge.media.mediaRead(arg)),
    mediaClose: (handle) => guard(() => bridge.media.mediaClose(handle)),
    isStaged: (sha) => guard(() => bridge.media.isStaged(sha)),
    stage: (arg) => guard(() => bridge.media.stage(arg)),
    sendFile: (arg) => bridge.media.sendFile(arg),
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
