  // wpp-fake, part 6b: media (WPP.chat.downloadMedia, WPP.chat.sendFileMessage,
  // WPP.whatsapp.MediaGatingUtils). Files live on the simulator's "media servers"
  // (simulator/media.py), fetched and uploaded over same-origin HTTP as WhatsApp Web does with
  // its media hosts.
  // (The parts are the body of one function, joined in name order by simulator/bundle.py.)
  const mediaUrl = (what) => `/s/${encodeURIComponent(name)}/${what}`;

  // src/whatsapp/misc/MediaGatingUtils.ts l.22-35: bytes per media type. WhatsApp sets them from
  // its server props; the simulator's come in the init push (PageConfig.upload_limits).
  const MediaGatingUtils = {
    getUploadLimit: (mediaType, fileOrigin) => {
      needReady('whatsapp.MediaGatingUtils.getUploadLimit');
      const limits = config.upload_limits || {};
      if (!(mediaType in limits)) throw new Error(`getUploadLimit: unknown media type ${mediaType}`);
      return Number(limits[mediaType]);
    },
  };

  // src/chat/functions/getMessageById.ts l.78-90: WPPError msg_not_found.
  const getMessageById = (id) => {
    const msg = msgStore.get(String(id));
    if (!msg) throw new WPPError('msg_not_found', `Message ${id} not found`, { id: String(id) });
    return msg;
  };

  // src/chat/functions/downloadMedia.ts: no media data -> message_not_contains_media (l.41-49);
  // nothing after the download -> a plain object {error, code: 'media_not_found'} (l.113-119);
  // the Blob's type is the message's mimetype (l.62-64).
  const downloadMedia = async (id) => {
    const msg = getMessageById(id);
    if (!msg.isMedia || !msg.filehash) {
      throw new WPPError('message_not_contains_media', `Message ${id} not contains media`, { id });
    }
    const notFound = { error: true, code: 'media_not_found', message: 'Media not found' };
    let response;
    try {
      response = await fetch(`${mediaUrl('media')}?hash=${encodeURIComponent(msg.filehash)}`);
    } catch (e) {
      throw notFound;
    }
    if (!response.ok) throw notFound;
    const bytes = await response.arrayBuffer();
    return new Blob([bytes], { type: msg.mimetype || 'application/octet-stream' });
  };

  // src/util/convertToFile.ts: a File as it is; a Blob named `filename` with `mimetype`; with no
  // name or type the bytes are sniffed (FileType, not simulated: the type's own extension) and
  // else 'unknown' / application/octet-stream (l.61-71). A string that is no data URL throws the
  // plain string 'invalid_data_url' (l.44-46); URLs and raw base64 are not simulated.
  const convertToFile = async (data, mimetype, filename) => {
    if (data instanceof File) return data;
    let blob = data;
    if (typeof data === 'string') {
      const m = /^data:([^;,]*)(?:;[^,]*)?;base64,(.*)$/s.exec(data);
      if (!m) throw 'invalid_data_url';
      mimetype = mimetype || m[1];
      blob = new Blob([Uint8Array.from(atob(m[2]), (c) => c.charCodeAt(0))], { type: mimetype });
    }
    if (!filename || !mimetype) {
      mimetype = mimetype || blob.type || 'application/octet-stream';
      const [base, sub] = mimetype.split(';')[0].split('/');
      filename = filename || (mimetype === 'application/octet-stream' ? 'unknown' : `${base}.${sub}`);
    }
    return new File([blob], filename, { type: mimetype, lastModified: Date.now() });
  };

  // src/util/fileHelpers.ts l.39-61 getMediaTypeForValidation.
  const mediaTypeForValidation = (optionsType, mimeType) => {
    if (optionsType && optionsType !== 'auto-detect') return optionsType;
    for (const base of ['image', 'video', 'audio']) if (mimeType.startsWith(`${base}/`)) return base;
    return 'document';
  };
  // The message type MediaPrep.prepRawMedia gives (sendFileMessage.ts l.342-366: isPtt,
  // asDocument, asSticker); auto-detect goes by the file's type.
  const messageTypeOf = (options, file) => {
    const type = mediaTypeForValidation(options.type, file.type);
    if (type === 'audio') return options.isPtt ? 'ptt' : 'audio';
    return type;
  };

  // WhatsApp Web's media send (MediaPrep.sendToChat, src/whatsapp/misc/MediaPrep.ts l.67): the
  // message joins the chat at once (our echo), the file is uploaded, then the message goes to
  // the server; it resolves to a SendMsgResultObject. A failed upload is ERROR_UPLOAD
  // (src/whatsapp/enums/SendMsgResult.ts).
  const sendMediaToChat = (chat, raw, file) => {
    const msg = new MsgModel(raw);
    touchChat(chat, msg);
    addMessage(msg);
    const participant = msg.id.participant ? msg.id.participant.toString() : undefined;
    const result = (async () => {
      let uploaded;
      try {
        const response = await fetch(mediaUrl('upload'), { method: 'POST', body: file });
        if (!response.ok) return { messageSendResult: 'ERROR_UPLOAD' };
        uploaded = await response.json();
      } catch (e) {
        return { messageSendResult: 'ERROR_UPLOAD' };
      }
      msg.filehash = uploaded.filehash;
      const caption = raw.caption == null ? '' : String(raw.caption);
      const media = { kind: msg.type, mimetype: file.type, filename: raw.filename,
        caption: raw.caption, filehash: uploaded.filehash }; // prettier-ignore
      const record = { fromMe: true, remote: chat.id.toString(), id: msg.id.id, participant,
        type: msg.type, from: msg.from.toString(), to: msg.to.toString(), body: '', t: msg.t,
        ack: 0, caption: raw.caption, mimetype: file.type, size: file.size,
        filename: raw.filename, filehash: uploaded.filehash }; // prettier-ignore
      await msgDb.put(record).catch((err) => console.error('send not stored', err));
      const args = { chat: record.remote, body: caption, id: msg.id.id, participant, media };
      const r = await request('send', args);
      if (r.result === 'OK') setAck(msg, 1);
      return { messageSendResult: r.result };
    })();
    return [msg, result];
  };

  // src/chat/functions/sendFileMessage.ts l.259-459 (status@broadcast, buttons, footers and
  // PTV are not simulated).
  const sendFileMessage = async (chatId, content, options = {}) => {
    options = { ...defaultSendMessageOptions, type: 'auto-detect', waveform: true, ...options };
    const chat = await find(chatId); // assertFindChat (l.285)
    if (!chat) throw new WPPError('chat_not_found', `Chat not found for ${chatId}`);
    const file = await convertToFile(content, options.mimetype, options.filename);
    const filename = file.name;
    // l.292-323: the limit of the type; only a WPPError gets out of this block.
    const mediaType = mediaTypeForValidation(options.type, file.type);
    try {
      const limit = MediaGatingUtils.getUploadLimit(mediaType, null);
      if (file.size > limit) {
        throw new WPPError(
          'file_too_large',
          `File size ${file.size} exceeds the upload limit of ${limit} for ${mediaType} files`,
          { fileSize: file.size, limit, mediaType },
        );
      }
    } catch (error) {
      if (error instanceof WPPError) throw error;
    }
    // l.369-378: the caption is options.caption or the file name.
    const raw = await prepareRawMessage(
      chat,
      { caption: options.caption || filename, filename, isCaptionByUser: options.caption != undefined },
      options,
    );
    if (options.markIsRead) await markIsRead(chat.id).catch(() => null); // l.382-386
    Object.assign(raw, {
      type: messageTypeOf(options, file),
      mimetype: file.type,
      size: file.size,
      isViewOnce: options.isViewOnce,
    });
    const [message, sendMsgResult] = sendMediaToChat(chat, raw, file);
    let sendResult = null;
    if (options.waitForAck) sendResult = await sendMsgResult; // l.445-453
    else sendMsgResult.catch(() => undefined);
    return { id: message.id.toString(), ack: message.ack, sendMsgResult: sendResult };
  };

  Object.assign(WPP.chat, {
    downloadMedia: ready('chat.downloadMedia', downloadMedia),
    sendFileMessage: ready('chat.sendFileMessage', sendFileMessage),
  });
