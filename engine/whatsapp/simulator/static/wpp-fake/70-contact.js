  // wpp-fake, part 7, the last: WPP.contact, WPP.whatsapp and WPP.util.
  // (The parts are the body of one function, joined in name order by simulator/bundle.py.)
  // --- WPP.contact ----------------------------------------------------------------------------
  const existsCache = new Map();
  const buildResultFromContact = (contact, w) => ({
    wid: w,
    biz: !!contact.isBusiness,
    lid: lidPn.getCurrentLid(w) || undefined,
  });
  // queryWidExists.ts fetchFromServer: a server or network error is null, like "no result".
  const fetchFromServer = async (w) => {
    try {
      const native = await request('exists', { id: w.toString() });
      if (!native) return null;
      if (native.lid) lidPn.learn(native.lid, native.wid);
      return { wid: new Wid(native.wid), biz: !!native.biz, lid: lidPn.getCurrentLid(w) };
    } catch (e) {
      return null;
    }
  };
  // queryWidExists.ts: ContactStore, then a promise cache (5 min for hits, 15 s for misses).
  const queryWidExists = async (contactId) => {
    const w = assertWid(contactId);
    const counterpart = w.isLid() ? lidPn.getPhoneNumber(w) : lidPn.getCurrentLid(w);
    const contact =
      contactStore.get(w.toString()) || (counterpart && contactStore.get(counterpart.toString()));
    if (contact) return buildResultFromContact(contact, w);
    const key = `+${w.toString()}`;
    if (existsCache.has(key)) return existsCache.get(key);
    const promise = fetchFromServer(w).then((result) => {
      const ttl_s = result ? config.exists_hit_ttl_s : config.exists_miss_ttl_s;
      setTimeout(() => existsCache.delete(key), ttl_s * 1000);
      return result;
    });
    existsCache.set(key, promise);
    return promise;
  };
  const plainWid = (w) => (w ? { id: w.user, server: w.server, _serialized: w.toString() } : undefined);
  // getPnLidEntry.ts: @c.us and @lid only; for a @lid the phone comes from lidPnCache only.
  const getPnLidEntry = async (contactId) => {
    const w = assertWid(contactId);
    let lid;
    let pn;
    if (w.server !== 'c.us' && w.server !== 'lid') {
      throw new WPPError(
        'invalid_wid',
        `Invalid WID value for ${w} - getPnLidEntry only supports @c.us and @lid.`,
        { id: w },
      );
    }
    if (w.isLid()) {
      lid = w;
      pn = lidPn.getPhoneNumber(w) || undefined;
    } else {
      pn = w;
      lid = lidPn.getCurrentLid(w) || undefined;
      if (!lid) {
        const queryResult = await queryWidExists(w);
        if (queryResult && queryResult.lid) lid = queryResult.lid;
      }
    }
    const model = contactStore.get((lid || pn || w).toString());
    const contact = model && {
      name: model.name,
      shortName: model.shortName,
      pushname: model.pushname,
      type: model.type,
      verifiedName: undefined,
      isBusiness: model.isBusiness,
      isEnterprise: false,
    };
    return { lid: plainWid(lid), phoneNumber: plainWid(pn), contact };
  };
  WPP.contact = {
    queryWidExists: ready('contact.queryWidExists', queryWidExists),
    queryExists: ready('contact.queryExists', queryWidExists), // queryExists.ts: an alias
    getPnLidEntry: ready('contact.getPnLidEntry', getPnLidEntry),
  };

  // --- WPP.whatsapp: the models WA-JS exposes (src/whatsapp/models/SocketModel.ts, ...) ----
  const Socket = {
    get state() {
      return st.socket;
    },
    on: (name, fn) => socketModel.on(name, fn),
    off: (name, fn) => socketModel.off(name, fn),
    // SocketModel.takeover(): use this window again after "open in another window".
    takeover: () => {
      needReady('whatsapp.Socket.takeover');
      if (!replaced) return request('takeover');
      replaced = false;
      connect(true);
      return Promise.resolve();
    },
    logout: () => {
      WPP.conn.logout().catch(() => undefined);
    },
  };
  WPP.whatsapp = {
    Socket,
    MediaGatingUtils, // 65-media.js
    MsgKey,
    ChatModel,
    MsgModel,
    WidFactory: { createWid: widFactoryCreate, createWidFromWidLike },
  };
  WPP.util = { WPPError, createWid };
})();
