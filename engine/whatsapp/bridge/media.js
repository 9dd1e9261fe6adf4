// @ts-check
// waops page bridge, media (after connection.js, before commands.js): files in and out.
//
// Bytes cross page.evaluate as JSON strings, so they travel in base64 chunks: one 20 MB string
// from evaluate peaked at about 60x its size in Python (docs/plans/issue-15-media.md 1.1).
// - In: `mediaOpen` downloads a message's Blob (WPP.chat.downloadMedia) into `downloads` and
//   answers its size before any byte is read; `mediaRead` gives one base64 slice; `mediaClose`
//   frees it (the driver calls it in a finally).
// - Out: `stage` assembles a file, chunk by chunk, into a Blob kept by its sha256 in `staged`
//   (a reload empties it: `sendFile` then answers `not_staged` and the driver stages again);
//   `sendFile` is sendText's twin over WPP.chat.sendFileMessage.
(() => {
  'use strict';
  const bridge = window.__waopsBridge;
  if (window.__waops || !bridge) return;
  const WPP = window.WPP;
  const { ours, queued, fail, codeOf, messageOf, within, assertConnected, isConnected } = bridge;

  /** @type {Map<string, Blob>} */
  const downloads = new Map();
  let nextHandle = 1;
  // Staged files, oldest first; a campaign uses one, operator replies a few. Bounded in bytes so
  // that a page never holds more than a handful of files.
  const STAGED_MAX_BYTES = 64 * 1024 * 1024;
  /** @type {Map<string, Blob>} */
  const staged = new Map();
  /** @type {Map<string, {parts: Uint8Array<ArrayBuffer>[], size: number}>} */
  const staging = new Map();

  /** @param {string} b64 */
  const decode = (b64) => {
    const text = atob(b64);
    const bytes = new Uint8Array(new ArrayBuffer(text.length));
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  };
  /** The base64 of a Blob (FileReader data URL minus its "data:...;base64," head). @param {Blob} blob */
  const toBase64 = (blob) =>
    /** @type {Promise<string>} */ (
      new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => {
          const url = String(reader.result);
          resolve(url.slice(url.indexOf(',') + 1));
        };
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(blob);
      })
    );
  /** Hex SHA-256 of a Blob, or null where WebCrypto is missing (not a secure context). @param {Blob} blob */
  const sha256Of = async (blob) => {
    if (!globalThis.crypto || !crypto.subtle) return null;
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  };
  const keepStaged = (/** @type {string} */ sha, /** @type {Blob} */ blob) => {
    staged.delete(sha);
    staged.set(sha, blob);
    let total = 0;
    for (const b of staged.values()) total += b.size;
    for (const [old, b] of staged) {
      if (total <= STAGED_MAX_BYTES || old === sha) break;
      staged.delete(old);
      total -= b.size;
    }
  };

  /** @param {{id: string, maxBytes: number, deadlineMs: number}} arg */
  const mediaOpen = async ({ id, maxBytes, deadlineMs }) => {
    let blob;
    try {
      // src/chat/functions/downloadMedia.ts: the caches first, then msg.downloadMedia (l.93-97),
      // which has no time limit of its own. Failures: WPPError msg_not_found (getMessageById.ts),
      // message_not_contains_media (l.41-49), plain {code: 'media_not_found'} (l.113-119).
      blob = await within(WPP.chat.downloadMedia(String(id)), deadlineMs, 'timeout');
    } catch (e) {
      const code = codeOf(e) || 'error';
      // Not found while offline says nothing about the file: ask again once connected.
      const offline = code === 'media_not_found' && !isConnected();
      throw fail(offline ? 'not_connected' : code, messageOf(e));
    }
    if (blob.size > maxBytes) {
      throw fail('too_large', `the file has ${blob.size} bytes, more than ${maxBytes}`);
    }
    const handle = `m${nextHandle++}`;
    downloads.set(handle, blob);
    return { handle, size: blob.size, mimetype: blob.type || null };
  };

  /** @param {{handle: string, offset: number, length: number}} arg */
  const mediaRead = async ({ handle, offset, length }) => {
    const blob = downloads.get(String(handle));
    if (!blob) throw fail('session_lost', `download ${handle} is gone (the page reloaded?)`);
    return toBase64(blob.slice(offset, offset + length));
  };

  /** @param {string} handle */
  const mediaClose = async (handle) => downloads.delete(String(handle));

  /** @param {string} sha */
  const isStaged = async (sha) => staged.has(String(sha));

  /**
   * One chunk of a file; `offset` 0 starts it again. The last chunk builds the Blob and checks
   * its size and, where WebCrypto exists, its sha256.
   * @param {{sha: string, offset: number, total: number, data: string, mimetype: string}} arg
   */
  const stage = async ({ sha, offset, total, data, mimetype }) => {
    if (offset === 0) staging.set(sha, { parts: [], size: 0 });
    const entry = staging.get(sha);
    if (!entry || entry.size !== offset) {
      staging.delete(sha);
      throw fail('stage_out_of_order', `chunk at ${offset} of ${sha} does not follow the last one`);
    }
    const bytes = decode(data);
    entry.parts.push(bytes);
    entry.size += bytes.length;
    if (entry.size < total) return { complete: false };
    staging.delete(sha);
    const blob = new Blob(entry.parts, { type: mimetype });
    const digest = await sha256Of(blob);
    if (blob.size !== total || (digest !== null && digest !== sha)) {
      throw fail('stage_corrupt', `staged ${blob.size} bytes hashing to ${digest}, not ${sha}`);
    }
    keepStaged(sha, blob);
    return { complete: true };
  };

  /**
   * @param {{chatId: string, sha: string, kind: string, caption: string, filename: string | null,
   *   mimetype: string, messageId: string, keyId: string, delay: number, deadlineMs: number}} arg
   */
  const sendFile = async ({ chatId, sha, kind, caption, filename, mimetype, messageId, keyId, delay, deadlineMs }) => {
    try {
      assertConnected();
    } catch (e) {
      return { ok: false, code: codeOf(e), message: messageOf(e) };
    }
    const blob = staged.get(sha);
    if (!blob) return { ok: false, code: 'refused', wpp: 'not_staged', message: `${sha} is not staged` };
    ours.add(keyId); // again: the page may have been reloaded since prepareSend
    try {
      // src/chat/functions/sendFileMessage.ts: a Blob goes through convertToFile untouched
      // (util/convertToFile.ts l.57-76, named `filename`; sniffed only when a name or type is
      // missing); the raw message's caption is `options.caption || filename` and
      // isCaptionByUser `options.caption != undefined` (l.369-378), so an empty caption is
      // left out. messageId is checked by prepareRawMessage.ts like a text's; `delay` only waits
      // (composing is shown for type 'chat' alone, prepareRawMessage.ts l.87-97). Nothing
      // bounds the wait for chat.msgs 'add' (l.421-428): `within` is our deadline.
      /** @type {import('@wppconnect/wa-js').chat.FileMessageOptions} */
      const options = { type: kind, mimetype, messageId, delay, waitForAck: true };
      if (caption) options.caption = caption;
      if (filename) options.filename = filename;
      const r = await within(WPP.chat.sendFileMessage(chatId, blob, /** @type {any} */ (options)), deadlineMs, 'deadline');
      // l.445-459: {id, ack, sendMsgResult}, sendMsgResult = MediaPrep.sendToChat's
      // SendMsgResultObject (src/whatsapp/misc/MediaPrep.ts l.67) when waitForAck.
      const result = await r.sendMsgResult;
      return {
        ok: true,
        value: {
          id: r.id,
          ack: Number(r.ack),
          to: chatId,
          result: result ? String(result.messageSendResult) : null,
        },
      };
    } catch (e) {
      // WA-JS's checks (assertFindChat, file_too_large l.302-317, message_key_*) throw WPPErrors
      // before anything reaches MsgStore. Our deadline, a throw without a code or any error once
      // the echo was seen may have gone out.
      const code = codeOf(e);
      const refused = code !== null && code !== 'deadline' && !queued.has(keyId);
      return { ok: false, code: refused ? 'refused' : 'unknown', wpp: code, message: messageOf(e) };
    }
  };

  bridge.media = { mediaOpen, mediaRead, mediaClose, isStaged, stage, sendFile };
})();
